"""Fixtures for the rule engine: the example rule file and a writer for ad-hoc ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from inbound.rules.load import load_file
from inbound.rules.match import Matcher
from inbound.rules.model import ServiceRules

EXAMPLE = Path(__file__).parents[3] / "rules" / "examples" / "appointments.yaml"


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
