"""A rule file's `prompts.templates`: GOV.UK Notify templates whose delivered texts become prompts.

Every wrong setting names itself, its line and the fix; a template belongs to one service.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from inbound.cli import main
from inbound.rules.load import RuleFileError, RuleSetError, load_directory, load_file
from inbound.rules.model import RuleBook

from .conftest import WriteRules

TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
OTHER = "0b1c0d3e-0000-4000-8000-000000000001"


def rule_file(templates: str, service: str = "library", number: str = "+447700900111") -> str:
    """A rule file giving confirm and cancel, with `templates` as its prompts.templates (line 19
    on). Line numbers below refer to this text."""
    return f"""\
service:
  id: {service}
  name: Town library
  region: GB
  numbers: ["{number}"]
rules:
  - name: renew
    keywords: ["yes"]
    action: confirm
  - name: cancel
    keywords: [cancel]
    action: cancel
  - name: stop
    keywords: [stop]
    action: opt_out
prompts:
  expires_after: 3d
  templates:
{templates}
"""


def test_a_mapped_template_has_its_answers_and_expiry(write_rules: WriteRules) -> None:
    text = rule_file(
        f"    {TEMPLATE.upper()}: {{expects: [confirm, cancel], expires_after: 7d}}\n"
        f"    {OTHER}: {{expects: confirm}}"
    )
    rules = load_file(write_rules("library.yaml", text))
    templates = rules.prompts.templates
    assert set(templates) == {TEMPLATE, OTHER}  # ids kept in lower case
    assert templates[TEMPLATE].expects == {"confirm", "cancel"}
    assert templates[TEMPLATE].expires_after == timedelta(days=7)
    assert templates[OTHER].expects == {"confirm"}
    assert templates[OTHER].expires_after == timedelta(days=3)  # the block's expires_after


@pytest.mark.parametrize(
    ("templates", "line", "field", "problem", "fix"),
    [
        (
            "    f33517ff-2a88-4f6e-b855: {expects: [confirm]}",
            19,
            "prompts.templates.f33517ff-2a88-4f6e-b855",
            "'f33517ff-2a88-4f6e-b855' is not a Notify template id",
            "copy the template's ID (36 characters",
        ),
        (
            f"    {TEMPLATE}: {{expects: [confirm], expires_after: 7 days}}",
            19,
            f"prompts.templates.{TEMPLATE}.expires_after",
            "'7 days' is not a duration",
            'write a whole number and a unit: "14d"',
        ),
        (
            f"    {TEMPLATE}: {{expects: [confirm, register]}}",
            19,
            f"prompts.templates.{TEMPLATE}.expects",
            "no rule in this file gives register, so no reply could ever answer it",
            "add a rule with action: register, or leave register out of expects",
        ),
        (
            f"    {TEMPLATE}: {{expects: [confrim]}}",
            19,
            f"prompts.templates.{TEMPLATE}.expects",
            "'confrim' is not an action",
            "use actions this file's rules give, e.g. cancel, confirm",
        ),
        (
            f"    {TEMPLATE}: {{expects: [confirm, opt_out]}}",
            19,
            f"prompts.templates.{TEMPLATE}.expects",
            "opt_out is not an answer: it always takes effect whatever a reminder asks",
            "leave opt_out out of expects",
        ),
        (
            f"    {TEMPLATE}: {{expires_after: 7d}}",
            19,
            f"prompts.templates.{TEMPLATE}.expects",
            "is missing",
            "list the actions that answer texts of this template",
        ),
        (
            f"    {TEMPLATE}: {{expects: [confirm], expiry: 7d}}",
            19,
            f"prompts.templates.{TEMPLATE}.expiry",
            "unknown setting 'expiry'",
            "use expects and expires_after",
        ),
        (
            f"    - {TEMPLATE}",
            18,
            "prompts.templates",
            "is not a mapping",
            "write e.g. templates:",
        ),
    ],
)
def test_a_wrong_template_setting_names_itself_its_line_and_the_fix(
    write_rules: WriteRules, templates: str, line: int, field: str, problem: str, fix: str
) -> None:
    with pytest.raises(RuleFileError) as raised:
        load_file(write_rules("library.yaml", rule_file(templates)))
    error = raised.value
    assert (error.line, error.field) == (line, field)
    assert problem in error.problem
    assert error.fix.startswith(fix)


def test_a_template_in_two_services_is_refused_naming_both(write_rules: WriteRules) -> None:
    mapped = f"    {TEMPLATE}: {{expects: [confirm]}}"
    write_rules("rules/a-library.yaml", rule_file(mapped))
    second = write_rules(
        "rules/b-surgery.yaml", rule_file(mapped, service="surgery", number="+447700900222")
    )
    with pytest.raises(RuleSetError) as raised:
        load_directory(second.parent)
    [error] = raised.value.errors
    assert error.path == second
    assert (error.line, error.field) == (19, f"prompts.templates.{TEMPLATE}")
    assert error.problem == (
        f"Notify template {TEMPLATE} is already mapped by service 'library' in "
        f"{second.parent / 'a-library.yaml'}:19"
    )
    assert error.fix.startswith("a delivery receipt names only its template")


def test_the_rule_book_finds_a_templates_service_and_refuses_a_second_owner(
    write_rules: WriteRules,
) -> None:
    mapped = f"    {TEMPLATE}: {{expects: [confirm]}}"
    library = load_file(write_rules("a.yaml", rule_file(mapped)))
    surgery = load_file(
        write_rules("b.yaml", rule_file(mapped, service="surgery", number="+447700900222"))
    )
    book = RuleBook([library])
    found = book.service_for_template(TEMPLATE.upper())
    assert found is not None
    assert found.service.id == "library"
    assert book.service_for_template(OTHER) is None
    with pytest.raises(ValueError, match=f"Notify template {TEMPLATE} belongs to both"):
        RuleBook([library, surgery])


def test_rules_check_says_how_many_templates_make_prompts(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    text = rule_file(
        f"    {TEMPLATE}: {{expects: [confirm, cancel]}}\n    {OTHER}: {{expects: [confirm]}}"
    )
    assert main(["rules", "check", str(write_rules("library.yaml", text))]) == 0
    assert ", prompts from 2 Notify templates\n" in capsys.readouterr().out


def test_the_prompts_block_is_written_back_as_the_file_writes_it(write_rules: WriteRules) -> None:
    text = rule_file(
        f"    {TEMPLATE}: {{expects: [confirm, cancel], expires_after: 36h}}\n"
        f"    {OTHER}: {{expects: confirm}}"
    )
    rules = load_file(write_rules("library.yaml", text))
    written = rules.model_dump(mode="json")["prompts"]
    assert written == {
        "expires_after": "3d",
        "without_prompt": "rules",
        "allow_change": False,
        "templates": {
            TEMPLATE: {"expects": ["cancel", "confirm"], "expires_after": "36h"},
            OTHER: {"expects": ["confirm"], "expires_after": "3d"},
        },
    }
    again = write_rules("again.yaml", yaml.safe_dump(rules.model_dump(mode="json")))
    assert load_file(again) == rules
