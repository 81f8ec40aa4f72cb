"""`inbound rules check|test|schema` as a service team uses them (replay: integration tests)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from inbound.cli import main
from inbound.rules.load import load_file
from inbound.rules.replay import replay
from inbound.store.history import PastMessage
from tests.unit.rules.conftest import DECISION_KEYS, EXAMPLE, EXAMPLES, WriteRules

FEEDBACK = EXAMPLES / "feedback.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_prints_each_service_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "check", str(EXAMPLES))
    assert code == 0
    assert "service appointments, 5 rules" in out
    assert "5 services, 0 errors, 0 warnings" in out


def test_check_prints_warnings_with_file_and_line_and_still_passes(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules(
        "us.yaml",
        "service:\n  id: us\n  name: US\n  region: US\n  numbers: ['+12025550111']\n"
        "rules:\n  - name: cancel\n    keywords: [cancel, cancel appointment]\n"
        "    action: cancel\n",
    )
    code, out, _ = run(capsys, "rules", "check", str(path))
    assert code == 0
    assert f"warning: {path}:8: rules[0].keywords[0]: CANCEL is a carrier opt-out word" in out


def test_check_reports_errors_with_file_line_and_fix(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules(
        "bad.yaml",
        "service:\n  id: bad\n  name: Bad\n  region: GB\n  numbers: ['+447700900111']\n"
        "rules:\n  - name: r\n    keywords: ['(']\n    match: regex\n    action: reply\n",
    )
    code, _, err = run(capsys, "rules", "check", str(path))
    assert code == 1
    assert f"{path}:8: rules[0].keywords[0]: '(' is not a valid regular expression" in err
    assert "single quotes" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes please", {"action": "confirm", "rule": "confirm", "captures": {}}),
        ("Yes but can I change the time?", {"action": "manual", "rule": None, "captures": {}}),
        (
            "change to Friday",
            {"action": "manual", "rule": "change", "captures": {"details": "to Friday"}},
        ),
        ("report", {"action": "manual", "rule": "report", "captures": {}}),
        ("STOP", {"action": "opt_out", "rule": "stop", "captures": {}}),
    ],
)
def test_test_json_has_exactly_the_documented_keys(
    capsys: pytest.CaptureFixture[str], text: str, expected: dict[str, object]
) -> None:
    code, out, _ = run(capsys, "rules", "test", str(EXAMPLE), "--text", text, "--json")
    assert code == 0
    decision = json.loads(out)
    assert list(decision) == DECISION_KEYS
    assert {key: decision[key] for key in expected} == expected
    assert decision["reason"]


def test_test_prints_the_decision_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "rules",
        "test",
        str(FEEDBACK),
        "--text",
        "RATE 4 lovely staff",
        "--from",
        "07700 900123",
    )
    assert code == 0
    assert "action    feedback (automatic)" in out
    assert "reason    matched rule 'rating-with-comment'" in out
    assert "  rating  4" in out
    assert "from      +44********23" in out
    assert "reply     Thank you for your feedback." in out


def test_test_stdin_prints_one_json_object_per_line_in_order(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = ["yes", "", "Please stop texting me", "cancle", "👍", "not yes"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(replies) + "\n"))
    code, out, _ = run(capsys, "rules", "test", str(EXAMPLE), "--stdin")
    assert code == 0
    decisions = [json.loads(line) for line in out.splitlines()]
    assert [d["action"] for d in decisions] == [
        "confirm",
        "manual",
        "manual",
        "cancel",
        "confirm",
        "manual",
    ]
    assert "possible opt-out" in decisions[2]["reason"]


def test_test_refuses_a_bad_sender_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "test", str(EXAMPLE), "--text", "yes", "--from", "+12")
    assert code == 2
    assert err == "inbound: --from '+12' is not a phone number\n"


def test_test_needs_a_file_not_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "test", str(EXAMPLES), "--text", "yes")
    assert code == 2
    assert "is a folder: give one rule file" in err


def test_test_on_an_invalid_file_names_the_line(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules("bad.yaml", "service: {}\nrules: []\n")
    code, _, err = run(capsys, "rules", "test", str(path), "--text", "yes")
    assert code == 2
    assert f"{path}:1" in err


def test_schema_is_json_schema_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"service", "rules"}
    rule = schema["$defs"]["Rule"]
    assert set(rule["properties"]) >= {"name", "keywords", "match", "action", "captures"}
    assert rule["properties"]["keywords"]["description"]
    assert schema["$defs"]["MatchKind"]["enum"] == ["only", "first", "phrase", "regex"]
    assert "secret_env" in schema["$defs"]["Callback"]["properties"]


def past(text: str | None, action: str | None, index: int = 0) -> PastMessage:
    from datetime import UTC, datetime

    return PastMessage(
        id=index,
        provider="generic",
        provider_message_id=f"m{index}",
        sender="+447700900123",
        text=text,
        received_at=datetime(2026, 11, 28, tzinfo=UTC),
        status="processed" if action else "review",
        action=action,
        rule=action,
        review_reason=None if action else "no rule matched",
    )


def test_replay_counts_what_would_change() -> None:
    history = [
        past("yes", "confirm", 1),  # unchanged
        past("yesss", None, 2),  # review before, confirm now
        past("maybe", None, 3),  # still review
        past("no", "confirm", 4),  # a different action now
        past("Yes?", "confirm", 5),  # automatic before, review now
        past(None, None, 6),  # purged
    ]
    summary = replay(load_file(EXAMPLE), history)
    assert (summary.replayed, summary.purged) == (5, 1)
    assert (summary.automatic_before, summary.automatic_after) == (3, 3)
    assert (summary.newly_automatic, summary.newly_review, summary.different_action) == (1, 1, 1)
    assert [(c.message.id, c.before) for c in summary.changes] == [
        (2, "review"),
        (4, "confirm"),
        (5, "confirm"),
    ]


def test_every_rules_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["check"], ["test"], ["replay"], ["schema"]):
        with pytest.raises(SystemExit) as exited:
            main(["rules", *command, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert "usage: inbound rules" in out
        assert out.count("  -h, --help") == 1


def test_test_reads_paths_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)
    code, out, _ = run(capsys, "rules", "test", "feedback.yaml", "--text", "4/5", "--json")
    assert code == 0
    assert json.loads(out)["captures"] == {"rating": "4"}
    assert Path("feedback.yaml").exists()


def test_rules_test_on_each_warnings_reply_shows_what_check_warned(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules(
        "clinic.yaml",
        "service:\n  id: clinic\n  name: Clinic\n  region: GB\n  numbers: ['+447700900111']\n"
        "rules:\n"
        "  - {name: yes, keywords: [ok, 'yes'], action: confirm}\n"
        "  - {name: help, keywords: [help, ok], action: help}\n"
        "  - {name: okay, keywords: ['OK!'], action: confirm}\n"
        '  - {name: cancel, keywords: [cancel, "can\'t make it"], action: cancel}\n'
        '  - {name: cant-come, keywords: ["can\'t make it"], match: phrase, action: cancel}\n',
    )
    code, out, _ = run(capsys, "rules", "check", str(path))
    assert code == 0
    warned = [
        line for line in out.splitlines() if line.startswith("warning:") and "such as" in line
    ]
    assert len(warned) >= 2
    assert "cant-come" not in out  # the false "never picks rule 'cant-come'"
    for line in warned:
        reply = line.split("such as ", 1)[1].split("'")[1]
        code, shown, _ = run(capsys, "rules", "test", str(path), "--text", reply)
        if " goes to a person" in line:
            assert "(a person decides)" in shown, (line, shown)
        else:
            picked = line.split("is decided by rule '", 1)[1].split("'")[0]
            assert f"rule      {picked}\n" in shown, (line, shown)
    _, shown, _ = run(
        capsys, "rules", "test", str(path), "--text", "Sorry I can't make it, my son is ill"
    )
    assert "rule      cant-come" in shown
