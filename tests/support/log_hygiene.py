"""A pytest plugin: no log line the suite's tests produce may hold a full phone number.

It reads each test's captured sections (stdout, stderr, and the standard library's "log"
section), keeps only log lines (structlog console lines and JSON lines with an "event" key, not
deliberate CLI output such as `inbound trace --show-numbers`), and flags any with an E.164
number. Structlog lines that never reach a section (read by `capsys`, or a run with `-s`) are
seen too: the plugin wraps structlog's logger factory so every rendered line is also recorded
for the test that was running. At the end it prints a summary and, if anything was found, fails
the session with the offending tests and their lines (numbers masked).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog

# An E.164 number: a plus and 8-15 digits. Masked numbers (`+44*******23`) don't match.
E164 = re.compile(r"\+\d{8,15}")
# Terminal colours, which structlog's console renderer adds when it thinks it writes to a tty.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# `2026-11-29 03:35:07 [info     ] event key=value`, or with an ISO timestamp as `inbound run
# --log-format console` writes it (`2026-11-29T03:35:07.123456Z [info     ] ...`).
_CONSOLE_LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+\[\s*[a-z]+\s*\]\s"
)
_SECTION = re.compile(r"^Captured (?P<stream>\w+) (?P<when>setup|call|teardown)$")
OUTSIDE_TESTS = "(outside any test)"
_SHOWN = 300  # characters of an offending line shown in the summary


def is_log_line(line: str) -> bool:
    """True for a structlog console line or a JSON log line (an object with an "event" key)."""
    # Log lines start at the left margin; indented text (a report quoting one) is not one.
    plain = _ANSI.sub("", line).rstrip()
    if _CONSOLE_LINE.match(plain):
        return True
    if plain.startswith("{") and plain.endswith("}"):
        try:
            decoded = json.loads(plain)
        except ValueError:
            return False
        return isinstance(decoded, dict) and "event" in decoded
    return False


def has_number(line: str) -> bool:
    """True when the line holds a full (unmasked) E.164 number."""
    return E164.search(line) is not None


def mask_numbers(line: str) -> str:
    """The line with each full number masked the way inbound masks them: `+44********23`."""

    def masked(found: re.Match[str]) -> str:
        digits = found.group()[1:]
        return f"+{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"

    return E164.sub(masked, line)


def log_lines(stream: str, content: str) -> list[str]:
    """The log lines in one captured section: every line of the "log" section (the standard
    library's records), only log-shaped lines of stdout and stderr."""
    lines = [line for line in content.splitlines() if line.strip()]
    if stream == "log":
        return lines
    return [line for line in lines if is_log_line(line)]


def offending(lines: Iterable[str]) -> list[str]:
    """The lines that hold a full phone number."""
    return [line for line in lines if has_number(line)]


@dataclass
class _Lines:
    """What one test logged, from its report sections and from structlog directly."""

    from_sections: Counter[str] = field(default_factory=Counter)
    from_structlog: Counter[str] = field(default_factory=Counter)

    def merged(self) -> Counter[str]:
        # Most lines arrive both ways; the larger count of each is how often it was logged.
        return self.from_sections | self.from_structlog


@dataclass(frozen=True)
class Verdict:
    """One test's log lines, judged: how many there were, and those with a number."""

    lines: int
    offending: list[str]


class _TeeLogger:
    """Forwards every call to the real logger, recording rendered lines on the way."""

    def __init__(self, logger: Any, record: Callable[[str], None]) -> None:
        self._logger = logger
        self._record = record

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._logger, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], str):
                self._record(args[0])
            return target(*args, **kwargs)

        return call


class _TeeFactory:
    """Wraps structlog's logger factory; the output and its destination stay the same."""

    def __init__(self, factory: Callable[..., Any], record: Callable[[str], None]) -> None:
        self.factory = factory
        self._record = record

    def __call__(self, *args: Any) -> _TeeLogger:
        return _TeeLogger(self.factory(*args), self._record)


class LogHygiene:
    """Collects every test's log lines and judges them when the test has finished."""

    def __init__(self) -> None:
        self._collecting: dict[str, _Lines] = {}
        self.verdicts: dict[str, Verdict] = {}
        self._current = OUTSIDE_TESTS
        self._lock = threading.Lock()

    def _lines(self, nodeid: str) -> _Lines:
        return self._collecting.setdefault(nodeid, _Lines())

    def _record(self, rendered: str) -> None:
        # Called from whatever thread logged. The whole rendered event is one log record, so
        # every line of it counts (a traceback's last line can quote a value).
        with self._lock:
            counter = self._lines(self._current).from_structlog
            counter.update(line for line in rendered.splitlines() if line.strip())

    def _ensure_tee(self) -> None:
        # Something (e.g. `inbound.logs.configure`) may have replaced the factory since.
        factory = structlog.get_config()["logger_factory"]
        if not isinstance(factory, _TeeFactory):
            structlog.configure(logger_factory=_TeeFactory(factory, self._record))

    def _judge(self, nodeid: str) -> None:
        # Only counts and offenders are kept, so a long suite doesn't hold every line.
        with self._lock:
            collected = self._collecting.pop(nodeid, None)
        if collected is None:
            return
        lines = collected.merged()
        earlier = self.verdicts.get(nodeid, Verdict(0, []))
        self.verdicts[nodeid] = Verdict(
            earlier.lines + lines.total(), earlier.offending + offending(lines.elements())
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._ensure_tee()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._ensure_tee()
        self._current = nodeid

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A report repeats the sections of earlier phases; take only this phase's own.
        for title, content in report.sections:
            found = _SECTION.match(title)
            if found is None or found["when"] != report.when:
                continue
            lines = log_lines(found["stream"], content)
            with self._lock:
                self._lines(report.nodeid).from_sections.update(lines)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self._current = OUTSIDE_TESTS
        self._judge(nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._judge(OUTSIDE_TESTS)
        if self.found() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def found(self) -> dict[str, list[str]]:
        """Offending lines per test id."""
        return {nodeid: v.offending for nodeid, v in self.verdicts.items() if v.offending}

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        found = self.found()
        lines = sum(verdict.lines for verdict in self.verdicts.values())
        tests = sum(1 for nodeid, v in self.verdicts.items() if v.lines and nodeid != OUTSIDE_TESTS)
        bad = sum(len(offenders) for offenders in found.values())
        summary = (
            f"log hygiene: {lines} log lines from {tests} tests scanned, {bad} with a phone number"
        )
        if not found:
            terminalreporter.write_line(summary)
            return
        terminalreporter.section("log hygiene", sep="=", red=True)
        for nodeid, offenders in found.items():
            terminalreporter.write_line(nodeid)
            for line in offenders:
                terminalreporter.write_line(f"    {mask_numbers(line)[:_SHOWN]}")
        terminalreporter.write_line(summary, red=True, bold=True)

    def pytest_unconfigure(self) -> None:
        # Leave structlog as it was (e.g. for a pytester run inside this process).
        factory = structlog.get_config()["logger_factory"]
        if isinstance(factory, _TeeFactory):
            structlog.configure(logger_factory=factory.factory)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LogHygiene(), "log-hygiene")
