"""`inbound rules import` and `inbound rules export` on a real database, SQLite and PostgreSQL
(issue 18): a rule file's service moves into inbound, audited; the commands that name a service
know it afterwards."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inbound.config import Settings
from inbound.store.database import create_engine, session_factory
from inbound.store.users import Audit
from tests.conftest import EXAMPLE_RULES
from tests.integration.test_users_tokens import Command, command  # noqa: F401 (a fixture)

APPOINTMENTS = (EXAMPLE_RULES / "appointments.yaml").read_text(encoding="utf-8")


@pytest.fixture
def folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: Command,  # noqa: F811 (set up first: it points INBOUND_RULES_DIR at the examples)
) -> Path:
    """A copy of the example rules, the commands' INBOUND_RULES_DIR."""
    copied = tmp_path / "rules"
    shutil.copytree(EXAMPLE_RULES, copied)
    monkeypatch.setenv("INBOUND_RULES_DIR", str(copied))
    return copied


async def _events(settings: Settings, action: str) -> list[tuple[str | None, str | None]]:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            events = await Audit(session).events(action)
        return [(event.service_id, event.subject) for event in events]
    finally:
        await engine.dispose()


async def test_import_moves_a_service_into_inbound_and_export_prints_it(
    settings: Settings,
    folder: Path,
    command: Command,  # noqa: F811
) -> None:
    exported = await command("rules", "export", "appointments")
    assert exported.code == 0, exported.err
    assert exported.out == APPOINTMENTS
    assert "a rule file" in exported.err
    file = folder / "appointments.yaml"
    imported = await command("rules", "import", str(file), "--reason", "the team edits it")
    assert imported.code == 0, imported.err
    assert "service appointments: managed in inbound from now on, version 1" in imported.out
    assert f"now remove {file} from the rules folder" in imported.out
    assert await _events(settings, "rules_imported") == [("appointments", "rules version 1")]
    # Until the file goes, the folder and the database disagree: refused, naming the file.
    refused = await command("users", "add", "x@surgery.example", "--service", "appointments")
    assert refused.code != 0
    assert "managed in inbound (version 1)" in refused.err
    file.unlink()
    exported = await command("rules", "export", "appointments")
    assert exported.code == 0, exported.err
    assert exported.out == APPOINTMENTS
    assert "version 1, managed in inbound" in exported.err
    added = await command(
        "users", "add", "x@surgery.example", "--service", "appointments", "--role", "service_admin"
    )
    assert added.code == 0, added.err
    again = await command("rules", "import", str(folder.parent / "copy.yaml"))
    assert again.code == 2
    (folder.parent / "copy.yaml").write_text(APPOINTMENTS)
    again = await command("rules", "import", str(folder.parent / "copy.yaml"))
    assert again.code == 2
    assert "already managed in inbound (version 1)" in again.error


async def test_import_refuses_a_broken_file_naming_its_line_and_stores_nothing(
    settings: Settings,
    folder: Path,
    command: Command,  # noqa: F811
) -> None:
    broken = folder.parent / "broken.yaml"
    broken.write_text(APPOINTMENTS.replace("action: confirm", "action: confirmm", 1))
    ran = await command("rules", "import", str(broken))
    assert ran.code == 2
    assert "rules[0].action" in ran.err
    assert f"{broken}:" in ran.err
    assert await _events(settings, "rules_imported") == []
    unknown = await command("rules", "export", "nosuch")
    assert unknown.code == 2
    assert "no service 'nosuch'" in unknown.error
