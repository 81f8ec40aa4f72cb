"""A real `inbound run` writing console (or JSON) logs: a signed message id full of terminal
escape codes and bidi overrides reaches the log only as escapes, never raw; and at the default
level a message gets one line, not one per component that touched it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.process import serving

# Raw characters no log line may contain: C0 (but the line's own newline), DEL, C1 and bidi.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE_ID = "id-\x1b]0;owned\x07\x1b[2J\x1b[31m\x9b1m\x7f\u202eevil\u2066"


def post_signed(env: dict[str, str], payload: dict[str, str]) -> int:
    body = json.dumps(payload).encode()
    digest = hmac.new(env["INBOUND_GENERIC_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['INBOUND_PORT']}/webhooks/generic",
        data=body,
        headers={"Content-Type": "application/json", "X-Inbound-Signature": f"sha256={digest}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (a local test URL)
        status: int = answer.status
        return status


def wait_for(path: Path, needle: str, within: float = 15) -> str:
    deadline = time.monotonic() + within
    while True:
        text = path.read_text(errors="surrogateescape")
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never logged"
        time.sleep(0.05)


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_escape_codes_in_a_signed_message_id_never_reach_the_log_raw(
    env: dict[str, str], tmp_path: Path, log_format: str
) -> None:
    env["INBOUND_LOG_FORMAT"] = log_format
    env["INBOUND_LOG_LEVEL"] = "DEBUG"  # the receiver's accepted line is DEBUG
    payload = {"id": HOSTILE_ID, "from": "+447700900123", "to": "+447700900000", "text": "yes"}
    with serving(env, tmp_path / "run"):
        assert post_signed(env, payload) == 202
        log = wait_for(tmp_path / "run.err", "message_processed")
    accepted = [line for line in log.splitlines() if "webhook_accepted" in line]
    assert len(accepted) == 1
    assert RAW.findall(log) == []
    if log_format == "json":
        assert json.loads(accepted[0])["message"] == f"generic:{HOSTILE_ID}"
    else:
        assert "id-\\x1b]0;owned\\x07\\x1b[2J" in accepted[0]
        assert "\\u202eevil\\u2066" in accepted[0]


def test_at_info_an_accepted_message_gets_one_line_the_workers(
    env: dict[str, str], tmp_path: Path
) -> None:
    # A line per webhook from the receiver as well cost a tenth of its CPU for what the
    # worker's line (and the webhooks counter) already say.
    env["INBOUND_LOG_FORMAT"] = "json"
    env["INBOUND_LOG_LEVEL"] = "INFO"
    payload = {"id": "one-line", "from": "+447700900123", "to": "+447700900000", "text": "yes"}
    with serving(env, tmp_path / "run"):
        assert post_signed(env, payload) == 202
        log = wait_for(tmp_path / "run.err", "message_processed")
    naming = [json.loads(line) for line in log.splitlines() if "generic:one-line" in line]
    assert [line["event"] for line in naming] == ["message_processed"]
