"""The rule book of rules in files plus versions managed in inbound (inbound.rules.managed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inbound.rules.load import RuleSetError
from inbound.rules.managed import Published, check_version, load_rule_book
from tests.conftest import EXAMPLE_RULES

APPOINTMENTS = (EXAMPLE_RULES / "appointments.yaml").read_text(encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The examples without appointments, whose rules are managed in inbound here."""
    copied = tmp_path / "rules"
    shutil.copytree(EXAMPLE_RULES, copied)
    (copied / "appointments.yaml").unlink()
    return copied


def test_the_book_is_the_files_plus_the_published_versions(folder: Path) -> None:
    book = load_rule_book(folder, [Published("appointments", 3, APPOINTMENTS)])
    assert "appointments" in book.services
    assert set(book.services) == {"appointments", *load_rule_book(folder, []).services}
    assert book.service_for_number("+447700900000") is book.services["appointments"]


def test_a_service_in_a_file_and_in_inbound_is_refused_naming_the_file(folder: Path) -> None:
    shutil.copy(EXAMPLE_RULES / "appointments.yaml", folder)
    with pytest.raises(RuleSetError) as refused:
        load_rule_book(folder, [Published("appointments", 2, APPOINTMENTS)])
    [error] = refused.value.errors
    assert error.path == folder / "appointments.yaml"
    assert "managed in inbound (version 2)" in error.problem
    assert "remove this file" in error.fix


def test_a_published_version_taking_a_files_number_is_refused(folder: Path) -> None:
    taken = load_rule_book(folder, []).services["street-reports"].service.numbers[0]
    clash = APPOINTMENTS.replace("numbers:\n", f'numbers:\n    - "{taken}"\n', 1)
    with pytest.raises(RuleSetError, match=taken.replace("+", r"\+")):
        load_rule_book(folder, [Published("appointments", 2, clash)])


def test_a_version_must_be_its_services_rules() -> None:
    report = check_version("someone-else", 1, APPOINTMENTS)
    [error] = report.errors
    assert error.field == "service.id"
    assert "'appointments', not 'someone-else'" in error.problem
    assert report.services == []


def test_a_broken_version_names_its_service_version_line_and_field() -> None:
    broken = APPOINTMENTS.replace("action: confirm", "action: confirmm", 1)
    with pytest.raises(RuleSetError) as refused:
        load_rule_book(EXAMPLE_RULES.parent / "nothing-here", [])
    assert "folder not found" in str(refused.value)
    report = check_version("appointments", 4, broken)
    [error] = report.errors
    assert str(error.path) == "appointments (version 4 in inbound)"
    assert error.field == "rules[0].action"
    assert error.line is not None
