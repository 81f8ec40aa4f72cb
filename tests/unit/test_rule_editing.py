"""The browser editor's changes to a rule file: each keeps the rest of the file, comments too."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.rules.editing import (
    EditError,
    add_keywords,
    add_rule,
    move_rule,
    remove_rule,
    replace_rule,
)
from inbound.rules.load import check_text
from inbound.rules.model import Rule, ServiceRules

EXAMPLES = Path(__file__).parents[2] / "rules" / "examples"
TEXT = """\
# The surgery's rules: a comment a form's change must keep.
service:
  id: surgery
  name: Riverside Surgery
  region: GB
  numbers: ["+447700900001"]
rules:
  - name: confirm
    keywords: [yes, y]
    action: confirm
  # Cancelling needs no reference.
  - name: cancel
    keywords: [cancel]
    action: cancel
"""


def _rules(text: str) -> ServiceRules:
    report = check_text(Path("draft"), text)
    assert not report.errors, report.errors
    return report.services[0][1]


def _names(text: str) -> list[str]:
    return [rule.name for rule in _rules(text).rules]


def _rule(name: str, keywords: object, action: str = "manual") -> Rule:
    return Rule.model_validate({"name": name, "keywords": keywords, "action": action})


def test_adding_a_rule_keeps_the_comments_and_the_rest() -> None:
    edited = add_rule(TEXT, _rule("moved", ["moved house"]), position=1)
    assert _names(edited) == ["confirm", "moved", "cancel"]
    assert "# The surgery's rules: a comment a form's change must keep." in edited
    assert "# Cancelling needs no reference." in edited
    assert "keywords: [moved house]" in edited  # on one line, as people write them
    assert _rules(edited).service == _rules(TEXT).service


def test_a_rule_added_without_a_position_goes_last() -> None:
    assert _names(add_rule(TEXT, _rule("help", ["help"], "help")))[-1] == "help"


def test_replacing_a_rule_changes_that_rule_only() -> None:
    edited = replace_rule(TEXT, 0, _rule("confirm", ["yes", "yeah"], "confirm"))
    rules = _rules(edited).rules
    assert list(rules[0].keywords) == ["yes", "yeah"]
    assert rules[1] == _rules(TEXT).rules[1]


@pytest.mark.parametrize(
    ("index", "offset", "names"),
    [
        (1, -1, ["cancel", "confirm"]),
        (0, 1, ["cancel", "confirm"]),
        (0, -1, ["confirm", "cancel"]),  # the first can't go higher
        (1, 5, ["confirm", "cancel"]),  # nor the last lower
    ],
)
def test_moving_a_rule_stays_within_the_list(index: int, offset: int, names: list[str]) -> None:
    assert _names(move_rule(TEXT, index, offset)) == names


def test_removing_a_rule() -> None:
    assert _names(remove_rule(TEXT, 0)) == ["cancel"]


def test_a_rule_that_is_not_there_is_an_error_that_says_so() -> None:
    with pytest.raises(EditError, match="no rule 3: the rules have 2"):
        remove_rule(TEXT, 2)
    with pytest.raises(EditError, match="no rule named 'nope'"):
        add_keywords(TEXT, "nope", ["x"], None)


def test_keywords_added_to_a_plain_list_skip_those_already_there() -> None:
    edited = add_keywords(TEXT, "confirm", ["Y", "yep"], None)
    assert list(_rules(edited).rules[0].keywords) == ["yes", "y", "yep"]


def test_keywords_by_language_go_under_the_language() -> None:
    text = (EXAMPLES / "bins-bilingual.yaml").read_text(encoding="utf-8")
    first = _rules(text).rules[0]
    edited = add_keywords(text, first.name, ["iawn"], "cy")
    assert _rules(edited).rules[0].keywords.by_language()["cy"][-1] == "iawn"
    with pytest.raises(EditError, match="by language: say which"):
        add_keywords(text, first.name, ["iawn"], None)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_rule_written_back_reads_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    before = _rules(text)
    edited = text
    for index, rule in enumerate(before.rules):
        edited = replace_rule(edited, index, rule)
    assert _rules(edited) == before


def test_text_that_is_not_a_rule_file_is_an_edit_error() -> None:
    with pytest.raises(EditError, match="not a mapping"):
        add_rule("- just a list", _rule("x", ["x"]))
    with pytest.raises(EditError, match="not YAML"):
        add_rule("rules: [", _rule("x", ["x"]))
