"""The log hygiene plugin: which lines are log lines, which hold a number, and that a test
logging a full number really fails the run (pytest in a subprocess, with the plugin)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.log_hygiene import (
    has_number,
    is_log_line,
    log_lines,
    mask_numbers,
    offending,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = "2026-11-29 03:35:07 [info     ] webhook_accepted  component=receiver sender={}"
ISO_CONSOLE = "2026-11-29T03:35:07.123456Z [warning  ] reply_logged  to={}"
JSON_LINE = '{{"event": "webhook_accepted", "sender": "{}", "level": "info"}}'


@pytest.mark.parametrize("template", [CONSOLE, ISO_CONSOLE, JSON_LINE])
def test_a_full_number_in_a_log_line_is_flagged(template: str) -> None:
    line = template.format("+447700900123")
    assert is_log_line(line)
    assert offending([line]) == [line]


@pytest.mark.parametrize("template", [CONSOLE, ISO_CONSOLE, JSON_LINE])
def test_a_masked_number_in_a_log_line_is_not_flagged(template: str) -> None:
    line = template.format("+44*******23")
    assert is_log_line(line)
    assert offending([line]) == []


def test_coloured_console_lines_are_log_lines() -> None:
    assert is_log_line("2026-11-29 03:35:07 [\x1b[32m\x1b[1minfo     \x1b[0m] \x1b[1mstarted")


@pytest.mark.parametrize(
    "line",
    [
        "from: +447700900123",  # `inbound trace --show-numbers`
        '{"from": "+447700900123", "text": "yes"}',  # `inbound trace --json --show-numbers`
        "2026-11-29 03:35:07 +447700900123 replied",  # a date, but no [level]
        "{not json at all +447700900123}",
    ],
)
def test_cli_output_is_not_a_log_line(line: str) -> None:
    assert not is_log_line(line)
    assert log_lines("stdout", line) == []


def test_every_line_of_the_standard_library_log_section_is_a_log_line() -> None:
    content = "WARNING  aiormq.connection:connection.py:1 lost +447700900123\ncontinued\n"
    assert log_lines("log", content) == [
        "WARNING  aiormq.connection:connection.py:1 lost +447700900123",
        "continued",
    ]


def test_only_log_lines_of_stdout_are_kept() -> None:
    content = "\n".join(
        [CONSOLE.format("+44*******23"), "from: +447700900123", JSON_LINE.format("+1500555")]
    )
    assert log_lines("stderr", content) == [
        CONSOLE.format("+44*******23"),
        JSON_LINE.format("+1500555"),
    ]


def test_numbers_are_masked_like_inbound_masks_them() -> None:
    masked = mask_numbers("to=+447700900123 from=+15005550006")
    assert masked == "to=+44********23 from=+15*******06"
    assert not has_number(masked)


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A throwaway test suite with the plugin, run by its own pytest in a subprocess."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    # Only the plugin under test: a faster start, and no other plugin's output to sift.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["tests.support.log_hygiene"]\n')
    return pytester


def _write(suite: pytest.Pytester, source: str) -> None:
    suite.makepyfile(test_logging=textwrap.dedent(source))


def test_a_test_logging_a_full_number_fails_the_run_and_is_listed_masked(
    suite: pytest.Pytester,
) -> None:
    _write(
        suite,
        """
        import structlog

        def test_leaks():
            structlog.get_logger().info("reply_sent", to="+447700900123")

        def test_clean():
            structlog.get_logger().info("reply_sent", to="+44********23")
            print("from: +447700900456")  # deliberate CLI output, not a log line
        """,
    )
    result = suite.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2)  # the tests pass; the session fails
    result.stdout.fnmatch_lines(
        [
            "*= log hygiene =*",
            "test_logging.py::test_leaks",
            "*reply_sent*to=+44********23*",
            "log hygiene: 2 log lines from 2 tests scanned, 1 with a phone number",
        ]
    )
    assert "+447700900123" not in result.stdout.str()
    assert "test_logging.py::test_clean" not in result.stdout.str()


def test_a_clean_run_passes_and_says_what_it_scanned(suite: pytest.Pytester) -> None:
    _write(
        suite,
        """
        import logging
        import structlog

        def test_clean():
            structlog.get_logger().info("webhook_accepted", sender="+44********23")
            logging.getLogger("aiormq").warning("connection lost")
            print('{"from": "+447700900123"}')  # `inbound trace --json --show-numbers`
        """,
    )
    result = suite.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["log hygiene: 2 log lines from 1 tests scanned, 0 with a phone number"]
    )


@pytest.mark.parametrize(
    "body",
    [
        # Read by capsys, so never in a report section: structlog's own output is still seen.
        'structlog.get_logger().info("sent", to="+447700900123"); capsys.readouterr()',
        # A JSON log line on stderr, as a subprocess with inherited stderr would write it.
        'sys.stderr.write(\'{"event": "sent", "to": "+447700900123"}\\n\')',
        # The standard library's records (aio-pika, aiohttp) land in the "log" section.
        'logging.getLogger("aiormq").warning("lost +447700900123")',
    ],
    ids=["structlog-read-by-capsys", "json-on-stderr", "stdlib-logging"],
)
def test_a_number_is_caught_whichever_way_the_line_was_logged(
    suite: pytest.Pytester, body: str
) -> None:
    _write(
        suite,
        f"""
        import logging
        import sys
        import structlog

        def test_leaks(capsys):
            {body}
        """,
    )
    result = suite.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["test_logging.py::test_leaks", "*+44********23*"])
