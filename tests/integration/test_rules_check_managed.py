"""`inbound rules check` beside the rules managed in inbound, read from the database (SQLite and
PostgreSQL; issue 18): a file the processes would refuse with them is an error, a file for a
managed service outside the rules folder gets a note, and a file back in files is fine."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.integration.test_rules_managed_cli import APPOINTMENTS, folder
from tests.integration.test_users_tokens import Command, command

__all__ = ["command", "folder"]  # fixtures

BOTH = "service 'appointments' is managed in inbound (version 1), and this file defines it too"


async def test_check_says_when_a_files_service_is_managed_in_inbound(
    folder: Path, command: Command
) -> None:
    file = folder / "appointments.yaml"
    assert (await command("rules", "import", str(file))).code == 0
    # The file left in the rules folder after the import: the processes refuse the pair.
    one = await command("rules", "check", str(file))
    assert one.code == 1, one.out
    assert BOTH in one.err
    assert "--to-files" in one.err
    assert "1 services, 1 errors" in one.err
    whole = await command("rules", "check")
    assert whole.code == 1
    assert f"{file}: service.id: {BOTH}" in whole.err

    # The same rules outside the folder (a draft being written): a note, not an error.
    draft = folder.parent / "draft.yaml"
    shutil.copy(file, draft)
    noted = await command("rules", "check", str(draft))
    assert noted.code == 0, noted.err
    assert f"note: {draft}: service 'appointments' is managed in inbound (version 1)" in (noted.out)

    # Another service claiming a number only the managed version has: refused as on loading.
    file.unlink()
    taken = folder.parent / "taken.yaml"
    taken.write_text(APPOINTMENTS.replace("id: appointments", "id: taken", 1), encoding="utf-8")
    clash = await command("rules", "check", str(taken))
    assert clash.code == 1
    assert "number +447700900000 belongs to both 'appointments' and 'taken'" in clash.err

    # Moved back to files: nothing to say.
    assert (await command("rules", "export", "appointments", "--to-files")).code == 0
    fine = await command("rules", "check", str(file))
    assert fine.code == 0, fine.err
    assert "managed in inbound" not in fine.out + fine.err
