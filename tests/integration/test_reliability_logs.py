"""Log hygiene: no full phone number and no message text in any log line, and user text can't
forge a log line. Scans a real `inbound run`'s log, plus every log file the suite's subprocess
tests wrote before this one (under pytest's session temp folder)."""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.support.process import inbound, serving

NUMBERS = ("+447700900123", "+447700900456", "+447700900000", "+15005550006")
SECRET_TEXT = "my secret reply text"
# An E.164 number: a plus and 8-15 digits (masked ones have asterisks in the middle).
E164 = re.compile(r"\+\d{8,15}")


def offending(text: str) -> list[str]:
    return [line for line in text.splitlines() if E164.search(line) or SECRET_TEXT in line]


def test_logs_of_a_real_run_hold_no_numbers_no_text_and_no_forged_lines(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["INBOUND_LOG_LEVEL"] = "DEBUG"
    env["INBOUND_LOG_FORMAT"] = "console"
    with serving(env, tmp_path / "run"):
        for number in NUMBERS:
            sent = inbound(env, "send", SECRET_TEXT, "--from", number)
            assert sent.returncode == 0, sent.stderr
        # A forged line attempt: newlines and a fake log line in text, id and sender.
        forged = "yes\n2026-01-01 [error    ] forged_line\r\n"
        inbound(env, "send", forged, "--from", "+447700900456\nforged", "--id", "x\ny")
        time.sleep(1.5)
    log = (tmp_path / "run.err").read_text()
    assert "webhook_accepted" in log
    assert offending(log) == []
    assert not any(line.lstrip().startswith("2026-01-01") for line in log.splitlines())
    assert urllib.parse.quote(SECRET_TEXT) not in log


def test_no_log_written_by_the_suite_so_far_holds_a_number(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.getbasetemp()
    found = {}
    scanned = 0
    for path in base.rglob("*.err"):
        scanned += 1
        bad = offending(path.read_text(errors="replace"))
        if bad:
            found[str(path)] = bad[:3]
    assert found == {}
    print(f"\nlog hygiene: scanned {scanned} subprocess log files, 0 numbers or texts found")
