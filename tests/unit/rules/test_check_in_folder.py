"""`rules check FILE` checks the file beside the other services of the folder it will load in,
as `inbound run` and the hot reload do."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.cli import main
from inbound.rules.load import check

from .conftest import WriteRules

TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"


def rule_file(service_id: str, number: str, template: str | None = None) -> str:
    prompts = (
        f"prompts:\n  templates:\n    {template}: {{expects: [confirm]}}\n" if template else ""
    )
    return (
        f"service:\n  id: {service_id}\n  name: A service\n  region: GB\n"
        f"  numbers: ['{number}']\n{prompts}"
        "rules:\n  - {name: confirm, keywords: ['yes'], action: confirm}\n"
    )


@pytest.fixture
def live(write_rules: WriteRules) -> Path:
    """A folder of rules in force: the library, on +447700900111, owning a Notify template."""
    return write_rules("live/library.yaml", rule_file("library", "+447700900111", TEMPLATE)).parent


CASES = {
    "number": (rule_file("clinic", "+447700900111"), "service.numbers[0]", "number +447700900111"),
    "Notify template": (
        rule_file("clinic", "+447700900222", TEMPLATE),
        f"prompts.templates.{TEMPLATE}",
        f"Notify template {TEMPLATE} is already mapped by service 'library'",
    ),
}


@pytest.mark.parametrize(("text", "field", "problem"), list(CASES.values()), ids=list(CASES))
def test_a_file_clashing_with_another_service_of_the_folder_is_an_error(
    write_rules: WriteRules, live: Path, text: str, field: str, problem: str
) -> None:
    path = write_rules("new/clinic.yaml", text)
    assert check(path).errors == []  # alone it is fine, which is how it slipped through
    report = check(path, live)
    [error] = report.errors
    assert (error.path, error.field) == (path, field)
    assert problem in error.problem
    assert str(live / "library.yaml") in error.problem
    assert report.services == []


def test_a_new_version_of_a_service_in_the_folder_is_not_a_clash(
    write_rules: WriteRules, live: Path
) -> None:
    path = write_rules("new/library.yaml", rule_file("library", "+447700900111", TEMPLATE))
    report = check(path, live)
    assert (report.errors, [rules.service.id for _, rules in report.services]) == ([], ["library"])


def test_a_file_inside_the_folder_is_not_its_own_clash(live: Path) -> None:
    report = check(live / "library.yaml", live)
    assert report.errors == []


def test_the_folders_own_problems_are_not_the_files(write_rules: WriteRules, live: Path) -> None:
    write_rules("live/broken.yaml", "service: [")
    path = write_rules("new/clinic.yaml", rule_file("clinic", "+447700900222"))
    assert check(path, live).errors == []


def test_check_command_uses_inbound_rules_dir(
    write_rules: WriteRules,
    live: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_rules("new/clinic.yaml", rule_file("clinic", "+447700900111"))
    monkeypatch.setenv("INBOUND_RULES_DIR", str(live))
    assert main(["rules", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"checked beside the other services in {live}/" in out
    assert f"{path}:5: service.numbers[0]: number +447700900111 is already used" in err


def test_check_command_falls_back_to_the_files_own_folder(
    write_rules: WriteRules,
    live: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_rules("live/clinic.yaml", rule_file("clinic", "+447700900111"))
    monkeypatch.setenv("INBOUND_RULES_DIR", str(tmp_path / "no-such-folder"))
    assert main(["rules", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"checked beside the other services in {live}/" in out
    assert "already used by service 'library'" in err
