"""Loading rule files: the example loads, and every problem names its file, line and fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from inbound.rules.load import RuleFileError, RuleSetError, load_directory, load_file
from inbound.rules.model import Action, MatchKind
from inbound.rules.prompt_settings import PromptSettings, WithoutPrompt

from .conftest import EXAMPLE, WriteRules

# Line numbers below refer to this text; keep them in step when editing it.
VALID = """\
service:
  id: library
  name: Town library
  region: GB
  numbers:
    - "+447700900111"
    - 07700 900112
rules:
  - name: renew
    keywords: [renew, "yes"]
    action: confirm
  - name: report
    keywords: [report]
    match: first
    action: report
    requires: [details]
"""


def test_example_file_loads() -> None:
    rules = load_file(EXAMPLE)
    assert rules.service.id == "appointments"
    assert rules.service.numbers == ["+447700900000"]
    assert rules.service.retention_days == 7
    assert [rule.name for rule in rules.rules] == ["confirm", "cancel", "change", "report", "stop"]
    assert rules.rules[2].match is MatchKind.first
    assert rules.rules[2].action is Action.manual


def test_numbers_are_stored_normalised(write_rules: WriteRules) -> None:
    rules = load_file(write_rules("library.yaml", VALID))
    assert rules.service.numbers == ["+447700900111", "+447700900112"]


def test_yes_no_on_off_and_plus_numbers_are_text_not_yaml_booleans(
    write_rules: WriteRules,
) -> None:
    text = VALID.replace('[renew, "yes"]', "[yes, no, on, off, 1]").replace(
        '"+447700900111"', "+447700900111"
    )
    rules = load_file(write_rules("library.yaml", text))
    assert rules.rules[0].keywords == ["yes", "no", "on", "off", "1"]
    assert rules.service.numbers[0] == "+447700900111"


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "problem", "fix"),
    [
        pytest.param(
            "action: confirm",
            "action: confrm",
            11,
            "rules[0].action",
            "'confrm' is not a known action",
            "did you mean 'confirm'? use one of: confirm, cancel, change",
            id="unknown-action",
        ),
        pytest.param(
            "    match: first\n",
            "    match: first\n    priority: 1\n",
            15,
            "rules[1].priority",
            "unknown key 'priority'",
            "allowed keys here: name, keywords, match, action, captures, requires, reply",
            id="unknown-key",
        ),
        pytest.param(
            "07700 900112",
            "07700 9001",
            7,
            "service.numbers[1]",
            "'07700 9001' is not a valid phone number",
            "write it in international form, e.g. +447700900123",
            id="bad-number",
        ),
        pytest.param(
            "region: GB",
            "region: XX",
            4,
            "service.region",
            "'XX' is not a region with known phone numbers",
            "two-letter country code in capitals, e.g. GB",
            id="bad-region",
        ),
        pytest.param(
            "region: GB",
            "region: gb",
            4,
            "service.region",
            "region 'gb' must be in capitals",
            "write it as 'GB'",
            id="lower-case-region",
        ),
        pytest.param(
            "name: report",
            "name: renew",
            12,
            "rules[1].name",
            "rule name 'renew' is used twice",
            "give each rule its own name",
            id="duplicate-rule-name",
        ),
        pytest.param(
            "    action: confirm\n",
            "",
            9,
            "rules[0].action",
            "'action' is missing",
            "add `action:` to this rule",
            id="missing-action",
        ),
        pytest.param(
            "  name: Town library\n",
            "",
            1,
            "service.name",
            "'name' is missing",
            "add `name:` under `service:`",
            id="missing-service-name",
        ),
        pytest.param(
            "rules:",
            "rulez:",
            8,
            "rulez",
            "unknown key 'rulez'",
            "did you mean 'rules'? allowed keys here: service, rules",
            id="misspelt-top-level-key",
        ),
        pytest.param(
            "id: library",
            "id: Town Library",
            2,
            "service.id",
            "'Town Library' is not a usable service id",
            "lower-case letters, digits",
            id="bad-service-id",
        ),
        pytest.param(
            '[renew, "yes"]',
            '[renew, "!!"]',
            10,
            "rules[0].keywords[1]",
            "keyword '!!' is empty once punctuation and symbols are removed",
            "use words, digits or an emoji",
            id="punctuation-keyword",
        ),
        pytest.param(
            '[renew, "yes"]',
            "[]",
            10,
            "rules[0].keywords",
            "is empty",
            "give at least one",
            id="no-keywords",
        ),
        pytest.param(
            "    match: first\n",
            "",
            15,
            "rules[1].requires",
            "requires details, but match is 'only'",
            "set `match: first`",
            id="details-need-first",
        ),
        pytest.param(
            "  name: Town library\n",
            "  name: Town library\n  region: FR\n",
            5,
            "service.region",
            "key 'region' appears twice here",
            "keep one",
            id="duplicate-key",
        ),
        pytest.param(
            "requires: [details]",
            "requires: [detail]",
            16,
            "rules[1].requires[0]",
            "'detail' is not allowed here",
            "use one of: 'details'",
            id="unknown-requirement",
        ),
        pytest.param(
            "  region: GB\n",
            "  region: GB\n  retention_days: 0\n",
            5,
            "service.retention_days",
            "0 is too small",
            "use 1 or more",
            id="retention-zero",
        ),
        pytest.param(
            "    keywords: [report]",
            "    keywords: report",
            13,
            "rules[1].keywords",
            "expected a list, got 'report'",
            "write a list",
            id="keywords-not-a-list",
        ),
        # The prompts: block (issue 15), after the last line of VALID: prompts: is line 17.
        *(
            pytest.param(
                "    requires: [details]\n",
                f"    requires: [details]\nprompts:\n  {setting}\n",
                18,
                field,
                problem,
                fix,
                id=name,
            )
            for name, setting, field, problem, fix in (
                (
                    "prompts-duration",
                    "expires_after: 7 days",
                    "prompts.expires_after",
                    "'7 days' is not a duration",
                    '"14d" (days)',
                ),
                (
                    "prompts-too-long",
                    "expires_after: 400d",
                    "prompts.expires_after",
                    "longer than 366 days",
                    "at most 366d",
                ),
                (
                    "prompts-policy",
                    "without_prompt: ignore",
                    "prompts.without_prompt",
                    "'ignore' is not a policy",
                    "rules or review",
                ),
                (
                    "prompts-unknown-setting",
                    "allow_changes: true",
                    "prompts.allow_changes",
                    "unknown setting 'allow_changes'",
                    "expires_after, without_prompt, allow_change",
                ),
            )
        ),
    ],
)
def test_validation_error_names_file_line_and_fix(
    write_rules: WriteRules, old: str, new: str, line: int, field: str, problem: str, fix: str
) -> None:
    assert old in VALID
    path = write_rules("library.yaml", VALID.replace(old, new, 1))
    with pytest.raises(RuleFileError) as caught:
        load_file(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (path, line, field)
    assert problem in error.problem
    assert fix in error.fix


def test_error_is_one_readable_line(write_rules: WriteRules) -> None:
    path = write_rules("library.yaml", VALID.replace("action: confirm", "action: confrm"))
    with pytest.raises(RuleFileError) as caught:
        load_file(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:11: rules[0].action: 'confrm' is not a known action — ")
    assert "use one of: confirm, cancel, change, report, register" in text


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        pytest.param(
            VALID.replace("- name: renew", "- name: renew: now"), 9, "YAML syntax", id="colon"
        ),
        pytest.param(VALID.replace('"yes"]', '"yes"'), 11, "YAML syntax", id="flow-list"),
        pytest.param(
            VALID.replace("    action: confirm", "  action: confirm"),
            11,
            "YAML syntax",
            id="indent",
        ),
        pytest.param("", None, "the file is empty", id="empty"),
        pytest.param("# only a comment\n", None, "the file is empty", id="only-comment"),
        pytest.param("- just\n- a list\n", 1, "not a mapping", id="top-level-list"),
        pytest.param("\n\nhello\n", 3, "not a mapping", id="top-level-text"),
        pytest.param("a: 1\n---\nb: 2\n", 2, "YAML syntax", id="two-documents"),
    ],
)
def test_unusable_file_names_line_and_problem(
    write_rules: WriteRules, text: str, line: int | None, problem: str
) -> None:
    path = write_rules("broken.yaml", text)
    with pytest.raises(RuleFileError) as caught:
        load_file(path)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert problem in caught.value.problem
    assert caught.value.fix


def test_unreadable_file_is_a_rule_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read the file"):
        load_file(tmp_path / "missing.yaml")


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("Town library", "Caf\xe9").encode("latin-1"))
    with pytest.raises(RuleFileError, match="not UTF-8") as caught:
        load_file(path)
    assert caught.value.line == 3


def test_directory_loads_nested_yaml_and_yml(write_rules: WriteRules, tmp_path: Path) -> None:
    write_rules("a/library.yaml", VALID)
    write_rules("appointments.yml", EXAMPLE.read_text(encoding="utf-8"))
    write_rules("notes.txt", "not a rule file")
    book = load_directory(tmp_path)
    assert sorted(book.services) == ["appointments", "library"]
    assert book.numbers()["+447700900112"] == "library"


def test_empty_directory_is_an_empty_rule_book(tmp_path: Path) -> None:
    assert load_directory(tmp_path).numbers() == {}


@pytest.mark.parametrize("name", ["missing", "file.yaml"])
def test_missing_directory_is_a_rule_set_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "file.yaml").write_text(VALID, encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        load_directory(tmp_path / name)
    [error] = caught.value.errors
    assert error.path == tmp_path / name
    assert "INBOUND_RULES_DIR" in error.fix


def test_same_number_in_two_files_names_both(write_rules: WriteRules, tmp_path: Path) -> None:
    first = write_rules("a.yaml", VALID)
    second = write_rules(
        "b.yaml", VALID.replace("id: library", "id: museum").replace("900111", "900999")
    )
    with pytest.raises(RuleSetError) as caught:
        load_directory(tmp_path)
    [error] = caught.value.errors
    assert (error.path, error.line, error.field) == (second, 7, "service.numbers[1]")
    assert error.problem == (
        f"number +447700900112 is already used by service 'library' in {first}:7"
    )


def test_same_service_id_in_two_files_names_both(write_rules: WriteRules, tmp_path: Path) -> None:
    first = write_rules("a.yaml", VALID)
    second = write_rules("b.yaml", VALID.replace("900111", "900998").replace("900112", "900999"))
    with pytest.raises(RuleSetError) as caught:
        load_directory(tmp_path)
    [error] = caught.value.errors
    assert (error.path, error.line) == (second, 2)
    assert f"already used by {first}:2" in error.problem


def test_directory_reports_every_file_error(write_rules: WriteRules, tmp_path: Path) -> None:
    write_rules("a.yaml", VALID.replace("action: confirm", "action: confrm").replace("GB", "XX"))
    write_rules("b.yaml", "")
    write_rules("c.yaml", VALID.replace("id: library", "id: museum").replace("9001", "9002"))
    with pytest.raises(RuleSetError) as caught:
        load_directory(tmp_path)
    found = [(error.path.name, error.line) for error in caught.value.errors]
    assert found == [("a.yaml", 4), ("a.yaml", 7), ("a.yaml", 11), ("b.yaml", None)]
    assert "'07700 900112' can't be read without a valid region" in str(caught.value)
    assert str(caught.value).count("\n") == 3


def test_misspelt_key_is_one_error_not_two(write_rules: WriteRules, tmp_path: Path) -> None:
    write_rules("a.yaml", VALID.replace("action: confirm", "acton: confirm"))
    write_rules("b.yaml", VALID.replace("action: confirm", "priority: 1").replace("9001", "9002"))
    with pytest.raises(RuleSetError) as caught:
        load_directory(tmp_path)
    found = [(error.path.name, error.field, error.problem) for error in caught.value.errors]
    assert found == [
        ("a.yaml", "rules[0].acton", "unknown key 'acton'"),
        ("b.yaml", "rules[0].action", "'action' is missing"),
        ("b.yaml", "rules[0].priority", "unknown key 'priority'"),
    ]


# --- the prompts: block (issue 15) ----------------------------------------------------------

PROMPTS = (
    VALID
    + """\
prompts:
  expires_after: 7d
  without_prompt: review
  allow_change: true
"""
)


def test_a_prompts_block_sets_the_services_prompt_settings(write_rules: WriteRules) -> None:
    rules = load_file(write_rules("library.yaml", PROMPTS))
    assert rules.prompts == PromptSettings(
        expires_after=timedelta(days=7), without_prompt=WithoutPrompt.REVIEW, allow_change=True
    )


def test_without_a_prompts_block_every_setting_has_its_default(write_rules: WriteRules) -> None:
    assert load_file(write_rules("library.yaml", VALID)).prompts == PromptSettings()
