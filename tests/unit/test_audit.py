"""`make audit` fails on a known vulnerability and passes, saying so, when it has no data."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

AUDIT = Path(__file__).parents[2] / ".ci" / "audit.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", AUDIT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vulnerable(advisory: str = "PYSEC-2026-1", aliases: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": "aiohttp",
        "version": "3.9.0",
        "vulns": [{"id": advisory, "aliases": aliases or [], "fix_versions": ["3.9.4"]}],
    }


CLEAN = {"name": "yarl", "version": "1.25.1", "vulns": []}
SKIPPED = {"name": "yarl", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def test_a_known_vulnerability_fails_the_run(audit: ModuleType) -> None:
    lines, status = audit.verdict({"dependencies": [vulnerable(), CLEAN]}, set())
    assert status == 1
    assert "audit: aiohttp 3.9.0: PYSEC-2026-1 (fixed in 3.9.4)" in lines


@pytest.mark.parametrize("accepted", [{"PYSEC-2026-1"}, {"GHSA-xxxx"}])
def test_an_accepted_advisory_passes(audit: ModuleType, accepted: set[str]) -> None:
    report = {"dependencies": [vulnerable(aliases=["GHSA-xxxx"])]}
    assert audit.verdict(report, accepted)[1] == 0


def test_no_advisory_data_passes_and_says_nothing_was_audited(audit: ModuleType) -> None:
    lines, status = audit.verdict({"dependencies": [SKIPPED, SKIPPED]}, set())
    assert status == 0
    assert lines == [
        "audit: advisory data unreachable for 2 of 2 packages, not audited (pip-audit asks "
        "PyPI's JSON API; run `make audit` where pypi.org answers)"
    ]


def test_a_clean_audit_says_how_many_were_audited(audit: ModuleType) -> None:
    lines, status = audit.verdict({"dependencies": [CLEAN, SKIPPED]}, set())
    assert status == 0
    assert lines[-1] == "audit: 1 packages audited, no known vulnerability"
