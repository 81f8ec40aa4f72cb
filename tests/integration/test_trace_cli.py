"""`inbound trace ID` through the real command, on SQLite and PostgreSQL, for a message whose
callback goes to a host that doesn't exist: it shows each callback and reply with where it goes
(the reply's number masked), its state, attempts, next attempt and the DNS error; found by
whatever id a caseworker or operator has in hand; and says plainly when nothing matches."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_RULES, TEST_SECRET_KEY
from tests.support.process import inbound, serving

# .invalid never resolves (RFC 6761): the callback fails with a DNS error on every machine.
UNREACHABLE = "https://nowhere.invalid/inbound/appointments?token=abc"


def _rules(tmp_path: Path) -> Path:
    """The example appointments rules, with their callback pointed at a host that doesn't exist."""
    folder = tmp_path / "rules"
    folder.mkdir()
    original = (EXAMPLE_RULES / "appointments.yaml").read_text()
    assert "https://surgery.example/inbound/appointments" in original
    (folder / "appointments.yaml").write_text(
        original.replace("https://surgery.example/inbound/appointments", UNREACHABLE)
    )
    return folder


@pytest.fixture
def trace_env(env: dict[str, str], database_url: str, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment on the test's database, with the unreachable callback."""
    return {
        **env,
        "INBOUND_DATABASE_URL": database_url,
        "INBOUND_SECRET_KEY": TEST_SECRET_KEY,
        "INBOUND_RULES_DIR": str(_rules(tmp_path)),
    }


def _trace_until(
    env: dict[str, str], message_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        result = inbound(env, "trace", message_id, "--json")
        assert result.returncode in (0, 1), result.stderr
        if result.returncode == 0:
            found: dict[str, Any] = json.loads(result.stdout)
            if done(found):
                return found
        assert time.monotonic() < deadline, f"trace never got there: {result.stdout}"
        time.sleep(0.3)


def _callback(record: dict[str, Any]) -> dict[str, Any]:
    (found,) = [action for action in record["actions"] if action["kind"] == "callback"]
    return found


def test_trace_shows_a_failing_callback_pending_with_its_error_and_next_attempt(
    trace_env: dict[str, str], tmp_path: Path
) -> None:
    trace_env.update(INBOUND_RETRY_DELAYS="600", INBOUND_CALLBACK_MAX_ATTEMPTS="5")
    message_id = f"trace-{uuid.uuid4().hex[:8]}"
    with serving(trace_env, tmp_path / "server"):
        assert inbound(trace_env, "send", "YES", "--id", message_id).returncode == 0
        record = _trace_until(
            trace_env,
            message_id,
            lambda found: (
                bool(found["actions"])
                and _callback(found)["attempts"] >= 1
                and all(a["state"] != "pending" for a in found["actions"] if a["kind"] == "reply")
            ),
        )
        human = inbound(trace_env, "trace", message_id)

    callback = _callback(record)
    assert callback["target"] == "nowhere.invalid/inbound/appointments"  # no scheme, no token
    assert callback["state"] == "pending"
    assert callback["attempts"] == 1
    assert callback["last_error"]  # e.g. ClientConnectorDNSError, or its message
    first = datetime.fromisoformat(callback["first_attempt_at"])
    due = datetime.fromisoformat(callback["next_attempt_at"])
    assert due - first == timedelta(seconds=600)
    (reply,) = [action for action in record["actions"] if action["kind"] == "reply"]
    assert reply["target"] == "+44********23"  # masked, as in the logs
    assert reply["state"] == "delivered"  # the local sender logs it
    assert reply["sent_at"]
    assert reply["attempts"] == 1

    assert human.returncode == 0, human.stderr
    out = human.stdout
    assert f"callback  #{callback['id']} to nowhere.invalid/inbound/appointments" in out
    assert f"pending after 1 attempt, next attempt about {callback['next_attempt_at']}" in out
    assert f"last error: {callback['last_error']}" in out
    assert f"reply     #{reply['id']} to +44********23" in out
    assert "delivered " in out
    assert "+447700900123" not in out
    assert "token" not in out


def test_trace_shows_a_callback_that_gave_up_and_finds_it_by_item_and_action(
    trace_env: dict[str, str], tmp_path: Path
) -> None:
    trace_env.update(INBOUND_RETRY_DELAYS="0.2", INBOUND_CALLBACK_MAX_ATTEMPTS="2")
    message_id = f"trace-{uuid.uuid4().hex[:8]}"
    with serving(trace_env, tmp_path / "server"):
        assert inbound(trace_env, "send", "YES", "--id", message_id).returncode == 0
        record = _trace_until(
            trace_env,
            message_id,
            lambda found: bool(found["actions"]) and _callback(found)["state"] == "failed",
        )

    callback = _callback(record)
    assert callback["attempts"] == 2
    assert callback["gave_up_at"]
    assert callback["next_attempt_at"] is None
    assert callback["last_error"]
    # Giving up sends the message to a person: the review item is in the trace.
    item = record["review"]["id"]
    human = inbound(trace_env, "trace", message_id).stdout
    assert f"gave up {callback['gave_up_at']} after 2 attempts" in human
    assert f"last error: {callback['last_error']}" in human
    assert f"item #{item}" in human

    # What a caseworker or an operator has in hand finds the same message.
    for typed in (
        f"item:{item}",
        f"#{item}",
        f"action:{callback['id']}",
        callback["key"],  # the Idempotency-Key header, the event's id
        f"generic:{message_id}",
    ):
        found = inbound(trace_env, "trace", typed, "--json")
        assert found.returncode == 0, (typed, found.stderr)
        assert json.loads(found.stdout)["provider_message_id"] == message_id, typed


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("no-such-id", "no message 'no-such-id' is stored: no provider message id"),
        ("item:999", "no review item #999 is stored"),
        ("action:999", "no action #999 is stored"),
    ],
)
def test_trace_says_plainly_when_nothing_matches(
    trace_env: dict[str, str], typed: str, said: str
) -> None:
    assert inbound(trace_env, "migrate").returncode == 0
    result = inbound(trace_env, "trace", typed)
    assert result.returncode == 1
    assert said in result.stderr
    assert result.stdout == ""


def test_trace_help_says_what_id_may_be(trace_env: dict[str, str]) -> None:
    shown = " ".join(inbound(trace_env, "trace", "--help").stdout.split())
    for named in (
        "provider's message id",
        "MessageSid",
        "item:12",
        "action:42",
        "Idempotency-Key",
        "next attempt",
    ):
        assert named in shown, named


def test_trace_names_the_prompt_a_reply_answered(trace_env: dict[str, str], tmp_path: Path) -> None:
    sheet = tmp_path / "reminders.csv"
    sheet.write_text('to,reference,expects\n07700 900123,appt-8812,"confirm,cancel"\n')
    imported = inbound(trace_env, "prompts", "import", "appointments", str(sheet))
    assert imported.returncode == 0, imported.stderr
    message_id = f"trace-{uuid.uuid4().hex[:8]}"
    with serving(trace_env, tmp_path / "server"):
        assert inbound(trace_env, "send", "YES", "--id", message_id).returncode == 0
        record = _trace_until(trace_env, message_id, lambda found: bool(found["actions"]))
        shown = inbound(trace_env, "trace", message_id)
    assert (record["status"], record["action"]) == ("processed", "confirm")
    assert record["prompt"] == "appt-8812"
    assert record["prompt_match"] == "answers reminder appt-8812: confirm"
    assert "matched   answers reminder appt-8812: confirm" in shown.stdout
    # Sent again, the same answer is stored and traced, with nothing done a second time.
    again = f"trace-{uuid.uuid4().hex[:8]}"
    with serving(trace_env, tmp_path / "server-2"):
        assert inbound(trace_env, "send", "yes", "--id", again).returncode == 0
        repeat = _trace_until(trace_env, again, lambda found: found["status"] == "repeat")
    assert (repeat["prompt"], repeat["action"], repeat["actions"]) == ("appt-8812", None, [])
