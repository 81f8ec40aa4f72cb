"""`make run` as a newcomer meets it: `inbound run` with the settings the Makefile's `run` target
exports, the rules/ folder, a fresh SQLite file and the real RabbitMQ. A reply that triggers an
example callback sends nothing to the examples' `*.example` hosts and leaves no retries behind;
the start output says where the review queue is and the exact command for its first account."""

from __future__ import annotations

import json
import re
import shlex
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.process import inbound, serving

MAKEFILE = ROOT / "Makefile"


def make_run_settings() -> dict[str, str]:
    """The `run: export NAME ?= VALUE` lines of the Makefile."""
    found = dict(
        re.findall(r"^run: export (INBOUND_\w+) \?= (\S+)$", MAKEFILE.read_text(), re.MULTILINE)
    )
    assert found, "the Makefile's run target exports no settings"
    return found


@pytest.fixture
def make_run_env(env: dict[str, str]) -> dict[str, str]:
    """A fresh local install's environment as `make run` sets it up, on the rules/ folder."""
    return {**env, **make_run_settings(), "INBOUND_RULES_DIR": str(ROOT / "rules")}


def _trace(env: dict[str, str], message_id: str) -> dict[str, Any] | None:
    result = inbound(env, "trace", message_id, "--json")
    if result.returncode == 1:
        return None
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _settled(record: dict[str, Any] | None) -> bool:
    """Every action is done with, or has been tried at least once."""
    if record is None or not record["actions"]:
        return False
    return all(a["state"] != "pending" or a["attempts"] for a in record["actions"])


def test_make_run_sends_no_example_callback_and_says_how_to_start_reviewing(
    make_run_env: dict[str, str], tmp_path: Path
) -> None:
    message_id = f"newcomer-{uuid.uuid4().hex[:8]}"
    logs = tmp_path / "server"
    with serving(make_run_env, logs) as printed:
        # The example rules' callback: the appointments service's "confirm" posts one.
        assert "https://surgery.example/" in (ROOT / "rules/examples/appointments.yaml").read_text()
        sent = inbound(make_run_env, "send", "YES", "--id", message_id)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 60
        while not _settled(record := _trace(make_run_env, message_id)):
            assert time.monotonic() < deadline, f"actions never settled: {record}"
            time.sleep(0.3)
        assert record is not None
        review, account = _first_steps(_printed_once(logs.with_suffix(".out"), "first account:"))
        page = _get(review)
        added = inbound(make_run_env, *account)
    server_log = logs.with_suffix(".err").read_text() + logs.with_suffix(".out").read_text()

    (callback,) = [a for a in record["actions"] if a["kind"] == "callback"]
    assert callback["target"] == "surgery.example/inbound/appointments"
    assert callback["state"] == "suppressed"
    assert callback["attempts"] == 0
    assert callback["next_attempt_at"] is None
    assert "INBOUND_CALLBACKS=off" in callback["last_error"]
    (reply,) = [a for a in record["actions"] if a["kind"] == "reply"]
    assert reply["state"] == "delivered"  # the local sender writes it to the log
    assert "action_retry_scheduled" not in server_log
    assert "callbacks are off (INBOUND_CALLBACKS=off)" in printed

    # The review queue answers where the start output said, and the command it printed works.
    assert page in (200, 302, 303)
    assert added.returncode == 0, added.stderr
    assert "password" in (added.stdout + added.stderr).lower()


def _printed_once(out: Path, wanted: str) -> str:
    """The process's output once it holds `wanted` (printed just after "listening on")."""
    deadline = time.monotonic() + 30
    while wanted not in (printed := out.read_text()):
        assert time.monotonic() < deadline, printed
        time.sleep(0.1)
    return printed


def _first_steps(printed: str) -> tuple[str, list[str]]:
    """The review queue's URL and the first-account command from the start output."""
    review = re.search(r"^review queue at (http://\S+/review/)$", printed, re.MULTILINE)
    assert review, printed
    command = re.search(r"^first account: (\S*inbound users add .+?) \(", printed, re.MULTILINE)
    assert command, printed
    words = shlex.split(command.group(1))
    assert words[1:4] == ["users", "add", "you@example.org"]
    assert words[4:] == ["--service", "appointments", "--role", "caseworker"]
    return review.group(1), words[1:]


def _get(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as answer:
            status: int = answer.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def test_production_settings_still_send_callbacks(env: dict[str, str]) -> None:
    """Without `make run`'s setting, callbacks are on: `inbound config` says so."""
    shown = inbound({**env, "INBOUND_RULES_DIR": str(ROOT / "rules")}, "config")
    assert shown.returncode == 0, shown.stderr
    assert "INBOUND_CALLBACKS=True" in shown.stdout.splitlines()
