"""`rules check` warnings: carrier words reused, keywords shared between rules, dead rules."""

from __future__ import annotations

from typing import Any

from inbound.rules.lint import RuleWarning, lint
from inbound.rules.load import check
from inbound.rules.model import Rule, Service, ServiceRules
from tests.unit.rules.conftest import EXAMPLES, WriteRules


def service(region: str, *specs: dict[str, Any]) -> ServiceRules:
    number = "+12025550111" if region == "US" else "+447700900111"
    return ServiceRules(
        service=Service(id="test", name="Test", region=region, numbers=[number]),
        rules=[Rule(**spec) for spec in specs],
    )


def test_examples_have_no_warnings() -> None:
    report = check(EXAMPLES)
    assert (report.errors, report.warnings) == ([], [])
    assert len(report.services) == 4


def test_carrier_opt_out_word_in_a_us_rule_is_a_warning() -> None:
    rules = service(
        "US",
        {"name": "cancel", "keywords": ["cancel appointment", "cancel"], "action": "cancel"},
    )
    [warning] = lint(rules)
    assert warning.loc == ("rules", 0, "keywords", 1)
    assert "CANCEL is a carrier opt-out word in US" in warning.problem
    assert "rule 'cancel'" in warning.problem


def test_carrier_word_is_fine_where_the_region_does_not_reserve_it() -> None:
    assert lint(service("GB", {"name": "cancel", "keywords": ["cancel"], "action": "cancel"})) == []


def test_opt_out_rule_may_reuse_carrier_words() -> None:
    stop = {"name": "stop", "keywords": ["stop", "end"], "action": "opt_out"}
    assert lint(service("US", stop)) == []


def test_same_keyword_in_rules_with_different_actions_is_a_warning() -> None:
    rules = service(
        "GB",
        {"name": "yes", "keywords": ["ok", "yes"], "action": "confirm"},
        {"name": "help", "keywords": ["help", "ok"], "action": "help"},
    )
    warnings = lint(rules)
    assert (
        RuleWarning(
            ("rules", 1, "keywords", 1),
            "keyword 'ok' also matches rule 'yes' (confirm), so such replies always go to a person",
            "remove it from one of the two rules, or make the keywords distinct",
        )
        in warnings
    )


def test_first_keyword_covering_an_only_keyword_is_an_overlap() -> None:
    rules = service(
        "GB",
        {"name": "cancel", "keywords": ["cancel it"], "action": "cancel"},
        {"name": "change", "keywords": ["cancel"], "match": "first", "action": "change"},
    )
    [warning] = [w for w in lint(rules) if "also matches" in w.problem]
    assert warning.loc == ("rules", 1, "keywords", 0)


def test_rule_shadowed_by_an_earlier_rule_is_unreachable() -> None:
    rules = service(
        "GB",
        {"name": "yes", "keywords": ["yes", "ok"], "action": "confirm"},
        {"name": "okay", "keywords": ["OK!"], "action": "confirm"},
    )
    problems = [warning.problem for warning in lint(rules)]
    assert any("rule 'okay' is unreachable" in problem for problem in problems)
    assert any("never picks rule 'okay'" in problem for problem in problems)


def test_rule_of_carrier_words_only_is_unreachable_in_the_us() -> None:
    rules = service(
        "US",
        {"name": "yes", "keywords": ["yes"], "action": "confirm"},
        {"name": "done", "keywords": ["end", "quit"], "action": "cancel"},
    )
    problems = [warning.problem for warning in lint(rules)]
    assert any("rule 'done' is unreachable" in problem for problem in problems)


def test_check_gives_warnings_a_file_and_line(write_rules: WriteRules) -> None:
    path = write_rules(
        "us.yaml",
        "service:\n  id: us\n  name: US\n  region: US\n  numbers: ['+12025550111']\n"
        "rules:\n  - name: cancel\n    keywords: [cancel]\n    action: cancel\n",
    )
    report = check(path)
    assert report.errors == []
    [warning] = [w for w in report.warnings if "is a carrier opt-out word" in w.problem]
    assert (warning.path, warning.line, warning.field) == (path, 8, "rules[0].keywords[0]")
    assert str(warning).startswith(f"{path}:8: rules[0].keywords[0]: CANCEL is a carrier")
