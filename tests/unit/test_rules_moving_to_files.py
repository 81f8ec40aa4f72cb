"""A service moving back to files (inbound.rules.managed): its version yields to a file of it,
so whichever order a process reads the folder and the versions in, the service has rules, and
only one set of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inbound.rules.load import RuleSetError, check
from inbound.rules.managed import Published, clashes_with_published, load_rule_book
from tests.conftest import EXAMPLE_RULES

APPOINTMENTS = (EXAMPLE_RULES / "appointments.yaml").read_text(encoding="utf-8")
# The version differs from the file: which one is in force shows in the keywords.
VERSION = APPOINTMENTS.replace("i will be there,", "i will be there, maybe,")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copied = tmp_path / "rules"
    shutil.copytree(EXAMPLE_RULES, copied)
    (copied / "appointments.yaml").unlink()
    return copied


def _keywords(folder: Path, published: list[Published]) -> set[str]:
    rules = load_rule_book(folder, published).services["appointments"].rules
    return {keyword for rule in rules for keyword in rule.keywords}


def test_a_moving_version_is_in_force_until_its_file_is_in_the_folder(folder: Path) -> None:
    moving = Published("appointments", 4, VERSION, yields_to_file=True)
    assert "maybe" in _keywords(folder, [moving])


def test_a_moving_version_yields_to_its_file_once_it_is_there(folder: Path) -> None:
    (folder / "appointments.yaml").write_text(APPOINTMENTS, encoding="utf-8")
    moving = Published("appointments", 4, VERSION, yields_to_file=True)
    assert "maybe" not in _keywords(folder, [moving])
    assert _keywords(folder, [moving]) == _keywords(folder, [])


def test_a_version_not_moving_and_a_file_are_still_refused(folder: Path) -> None:
    (folder / "appointments.yaml").write_text(APPOINTMENTS, encoding="utf-8")
    with pytest.raises(RuleSetError) as refused:
        load_rule_book(folder, [Published("appointments", 4, VERSION)])
    [error] = refused.value.errors
    assert "managed in inbound (version 4)" in error.problem
    assert "--to-files --file" in error.fix


@pytest.mark.parametrize(
    ("file_there", "versions_say"),
    [(False, "in inbound"), (False, "moving"), (True, "moving"), (True, "in files")],
)
def test_every_state_of_a_move_gives_the_service_one_set_of_rules(
    folder: Path, file_there: bool, versions_say: str
) -> None:
    # The move's order (recorded, file put in place, finished) read at any point, the folder
    # either side of the file: the states a reload can see. None fails and none loses it.
    if file_there:
        (folder / "appointments.yaml").write_text(VERSION, encoding="utf-8")
    published = {
        "in inbound": [Published("appointments", 4, VERSION)],
        "moving": [Published("appointments", 4, VERSION, yields_to_file=True)],
        "in files": [],
    }[versions_say]
    assert "maybe" in _keywords(folder, published)


def test_a_files_number_another_services_version_has_is_named_against_the_file(
    tmp_path: Path,
) -> None:
    # `rules check` of one file, beside the rules managed in inbound.
    file = tmp_path / "taken.yaml"
    file.write_text(APPOINTMENTS.replace("id: appointments", "id: taken", 1), encoding="utf-8")
    [(path, rules)] = check(file).services
    [error] = clashes_with_published([(path, rules)], [Published("appointments", 2, VERSION)])
    assert error.path == file
    assert "number +447700900000 belongs to both 'appointments' and 'taken'" in error.problem
    # Its own service's version is the one it replaces: no clash with itself.
    own = check(EXAMPLE_RULES / "appointments.yaml").services
    assert clashes_with_published(own, [Published("appointments", 2, VERSION)]) == []
