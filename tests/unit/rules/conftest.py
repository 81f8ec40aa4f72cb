"""Fixtures for the rule engine: the example rule file and a writer for ad-hoc ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from inbound.rules.load import load_file
from inbound.rules.match import Matcher
from inbound.rules.model import ServiceRules

EXAMPLE = Path(__file__).parents[3] / "rules" / "examples" / "appointments.yaml"
# The keys of `rules test --json`, in order, as README.md documents them.
DECISION_KEYS = ["action", "rule", "captures", "reason", "language", "reply", "reply_language"]


@pytest.fixture(scope="session")
def example_rules() -> ServiceRules:
    """The example appointments rule file, loaded."""
    return load_file(EXAMPLE)


@pytest.fixture(scope="session")
def example_matcher(example_rules: ServiceRules) -> Matcher:
    """A matcher for the example appointments rules."""
    return Matcher(example_rules)


WriteRules = Callable[[str, str], Path]


@pytest.fixture
def write_rules(tmp_path: Path) -> WriteRules:
    """Write `text` to `name` under a temporary folder and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


EXAMPLES = EXAMPLE.parent


@dataclass
class CorpusFigures:
    """The corpus's headline figures, printed in pytest's summary."""

    replies: int = 0
    automatic: int = 0
    correct: int = 0
    clear: int = 0  # replies a person reads as a clear instruction the rules can carry out

    def record(self, replies: int, automatic: int, correct: int, clear: int) -> None:
        self.replies, self.automatic, self.correct, self.clear = replies, automatic, correct, clear

    def lines(self) -> list[str]:
        precision = self.correct / self.automatic if self.automatic else 1.0
        return [
            f"rule corpus: {self.replies} replies, {self.automatic} handled automatically",
            f"  precision of automatic actions: {precision:.1%} ({self.correct}/{self.automatic})",
            f"  share handled automatically: {self.automatic / self.replies:.1%} of all replies, "
            f"{self.correct / self.clear:.1%} of the {self.clear} clear ones",
        ]


_FIGURES = CorpusFigures()


@pytest.fixture(scope="session")
def corpus_figures() -> CorpusFigures:
    """Where the corpus test records its figures for the summary."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES.replies:
        terminalreporter.section("rule corpus")
        for line in _FIGURES.lines():
            terminalreporter.write_line(line)
