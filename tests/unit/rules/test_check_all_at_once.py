"""`rules check` reports every error of a file in one run, each with its line and a fix."""

from __future__ import annotations

import pytest

from inbound.rules.load import check

from .conftest import WriteRules

HEAD = """\
service:
  id: clinic
  name: Clinic
  region: GB
  numbers: ["+447700900123"]
"""

CASES = {
    # The three layers: a schema error, a {placeholder} a rule never captures, and a
    # name used twice: each used to need a run of its own.
    "schema, placeholder and duplicate name": (
        """\
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirmm
  - name: cancel
    keywords: ["cancel"]
    action: cancel
    reply: "Cancelled {refrence}"
  - name: cancel
    keywords: ["no"]
    action: cancel
""",
        [
            (9, "rules[0].action", "'confirmm' is not a known action"),
            (13, "rules[1].reply", "the reply uses {refrence}"),
            (14, "rules[2].name", "rule name 'cancel' is used twice"),
        ],
    ),
    "every duplicate, and canned replies too": (
        """\
rules:
  - {name: a, keywords: [x], action: confirmm}
  - {name: b, keywords: [y], action: cancel}
  - {name: b, keywords: [z], action: cancel}
  - {name: a, keywords: [w], action: cancel}
replies:
  - {name: r, text: "hi {x}"}
  - {name: r, text: "hello"}
""",
        [
            (7, "rules[0].action", "'confirmm' is not a known action"),
            (9, "rules[2].name", "rule name 'b' is used twice"),
            (10, "rules[3].name", "rule name 'a' is used twice"),
            (12, "replies[0].text", "unknown placeholder {x}"),
            (13, "replies[1].name", "the name 'r' is used twice"),
        ],
    ),
    "one rule: a wrong action and a placeholder it never captures": (
        """\
rules:
  - name: cancel
    keywords: ["cancel"]
    action: cancell
    reply: "Cancelled {refrence}"
  - name: cancel
    keywords: ["no"]
    action: cancel
""",
        [
            (9, "rules[0].action", "'cancell' is not a known action"),
            (10, "rules[0].reply", "the reply uses {refrence}"),
            (11, "rules[1].name", "rule name 'cancel' is used twice"),
        ],
    ),
    "a check across the file after a wrong rule": (
        """\
labels:
  help: Help them
rules:
  - {name: a, keywords: ["yes"], action: confirm, requires: [rating]}
""",
        [
            (7, "labels.help", "help is not a decision a caseworker makes"),
            (9, "rules[0].requires", "rating"),
        ],
    ),
}


@pytest.mark.parametrize(("body", "expected"), list(CASES.values()), ids=list(CASES))
def test_every_error_in_one_run(
    write_rules: WriteRules, body: str, expected: list[tuple[int, str, str]]
) -> None:
    path = write_rules("clinic.yaml", HEAD + body)
    report = check(path)
    found = [(error.line, error.field, error.problem, error.fix) for error in report.errors]
    assert len(found) == len(expected), found
    for (line, field, problem, fix), (want_line, want_field, want) in zip(
        found, expected, strict=True
    ):
        assert (line, field) == (want_line, want_field), found
        assert want in problem
        assert fix  # every error says how to fix it


def test_a_wrong_action_does_not_also_say_no_rule_gives_it(write_rules: WriteRules) -> None:
    body = (
        "prompts:\n  templates:\n"
        "    f33517ff-2a88-4f6e-b855-c550268ce08a: {expects: [confirm]}\n"
        "rules:\n  - {name: a, keywords: ['yes'], action: confirmm}\n"
    )
    report = check(write_rules("clinic.yaml", HEAD + body))
    assert [error.field for error in report.errors] == ["rules[0].action"]
