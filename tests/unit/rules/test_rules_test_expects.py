"""`inbound rules test FILE --text T --expects A,B`: a reply tried against a trial reminder."""

from __future__ import annotations

import io
import json
import re

import pytest

from inbound.cli import main
from inbound.prompts.intake import ANSWERS
from inbound.rules.model import Action
from tests.unit.rules.conftest import DECISION_KEYS, EXAMPLE

ALLOWED = "confirm, cancel, change, report, register, follow_up, feedback, reply"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["rules", "test", str(EXAMPLE), *args])
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> dict[str, str]:
    """The human output's rows, label to value."""
    return {line[:9].strip(): line[10:] for line in out.splitlines()}


def test_an_answer_the_reminder_expects_acts_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--text", "YES", "--expects", "confirm,cancel")
    assert code == 0
    shown = rows(out)
    assert shown["action"] == "confirm (automatic)"
    assert shown["prompt"] == "answers the reminder: confirm"
    assert shown["expects"] == "cancel, confirm (a trial reminder sent a minute before)"
    assert shown["reply"] == "Thank you, your appointment is confirmed."
    # Without --expects the output is as it was: no reminder rows.
    assert run(capsys, "--text", "YES")[1] == "".join(
        line + "\n" for line in out.splitlines() if not line.startswith(("expects", "prompt"))
    )


def test_an_answer_the_reminder_did_not_ask_for_goes_to_a_person(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--text", "cancel", "--expects", "confirm")
    assert code == 0
    shown = rows(out)
    assert shown["action"] == "cancel (a person decides)"
    assert shown["reason"] == "matched rule 'cancel'"  # the rules' own reason
    assert shown["prompt"] == (
        "review: not one of the answers this reminder asked for: cancel "
        "(reminder trial expects confirm)"
    )
    assert "reply" not in shown  # no automatic outcome, so no automatic reply


@pytest.mark.parametrize(
    ("text", "expects", "action", "answered", "effect"),
    [
        ("Yes please", "confirm,cancel", "confirm", True, "answers the reminder: confirm"),
        ("no", "confirm, cancel", "cancel", True, "answers the reminder: cancel"),
        ("no", "confirm", "manual", False, "review: not one of the answers"),
        (
            "STOP",
            "confirm",
            "opt_out",
            False,
            "not an answer: opt_out takes effect whatever a reminder asked",
        ),
        (
            "Yes but can I change the time?",
            "confirm",
            "manual",
            False,
            "not an answer: the rules leave this reply to a person",
        ),
    ],
)
def test_json_adds_the_prompt_and_what_it_changed(
    capsys: pytest.CaptureFixture[str],
    text: str,
    expects: str,
    action: str,
    answered: bool,
    effect: str,
) -> None:
    code, out, _ = run(capsys, "--text", text, "--expects", expects, "--json")
    assert code == 0
    decision = json.loads(out)
    assert list(decision) == [*DECISION_KEYS, "prompt"]
    assert decision["action"] == action
    prompt = decision["prompt"]
    assert list(prompt) == ["reference", "expects", "answered", "effect"]
    assert prompt["reference"] == "trial"
    assert prompt["expects"] == sorted(name.strip() for name in expects.split(","))
    assert prompt["answered"] is answered
    assert prompt["effect"].startswith(effect)


def test_stdin_tries_every_line_against_the_same_reminder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each line is a reply of its own: a second "yes" is not a repeat of the first.
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\nyes\ncancel\n"))
    code, out, _ = run(capsys, "--stdin", "--expects", "confirm")
    assert code == 0
    decisions = [json.loads(line) for line in out.splitlines()]
    assert [(d["action"], d["prompt"]["answered"]) for d in decisions] == [
        ("confirm", True),
        ("confirm", True),
        ("manual", False),
    ]


def test_the_sender_given_is_the_one_the_reminder_was_sent_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--text", "yes", "--expects", "confirm", "--from", "07700 900123")
    assert code == 0
    assert rows(out)["from"] == "+44********23"
    assert rows(out)["prompt"] == "answers the reminder: confirm"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("yes", "--expects: 'yes' is not an action (expects names actions, not keywords)"),
        (
            "confirm,maybe",
            "--expects: 'maybe' is not an action (expects names actions, not keywords)",
        ),
        (
            "opt_out",
            "--expects: 'opt_out' always takes effect whatever a reminder asks, so none can "
            "expect it",
        ),
        ("help", "--expects: 'help' always takes effect whatever a reminder asks, so none can"),
        ("manual", "--expects: 'manual' is not an answer: a person decides those"),
        ("", "--expects is empty"),
        (" , ", "--expects is empty"),
        ("confirm,,cancel", "--expects 'confirm,,cancel' has an empty name"),
    ],
)
def test_a_bad_expects_is_one_line_naming_it_and_the_allowed_actions(
    capsys: pytest.CaptureFixture[str], value: str, why: str
) -> None:
    code, out, err = run(capsys, "--text", "yes", "--expects", value)
    assert code == 2
    assert out == ""
    assert err.startswith(f"inbound: {why}")
    assert err.endswith(f"give one or more of {ALLOWED}\n")
    assert err.count("\n") == 1


def test_expects_reads_case_and_spaces_loosely(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--text", "yes", "--expects", " Confirm , CANCEL ", "--json")
    assert code == 0
    assert json.loads(out)["prompt"]["expects"] == ["cancel", "confirm"]


def test_help_documents_expects_with_every_action_a_reminder_may_expect(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["rules", "test", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--expects ACTIONS" in out
    assert "e.g. --expects confirm,cancel" in out
    listed = re.search(r"\(any of ([a-z_, ]+)\)", out)
    assert listed is not None
    # The help is built without importing the rule engine, so it spells the list out: held to
    # the actions a prompt may expect here.
    assert listed.group(1) == ", ".join(a.value for a in Action if a in ANSWERS) == ALLOWED
