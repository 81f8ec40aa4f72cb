"""`inbound rules export SERVICE --to-files` on a real database, SQLite and PostgreSQL (issue 18):
a service managed in inbound goes back to a rule file, its versions kept and the move audited;
the API then says `managed: files`; a later import starts the next version; an existing file
is never overwritten unless asked."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.config import Settings
from inbound.managed_rules import Actor, Managed, ManagedRules
from inbound.store.database import create_engine, session_factory
from inbound.store.rule_versions import RuleVersions
from tests.integration.lifecycle_support import Inbound, post_generic, start_inbound
from tests.integration.test_rules_managed_api import BASE, Api, api
from tests.integration.test_rules_managed_cli import _events, folder
from tests.integration.test_rules_managed_processes import NEW_NUMBER, NEW_VERSION, _decisions
from tests.integration.test_users_tokens import Command, command
from tests.support.managed_rules import (
    APPOINTMENTS,
    WITH_MAYBE,
    WITH_PERHAPS,
    appointments_in_inbound,
    process_env,
)
from tests.support.process import inbound_beside
from tests.support.waiting import eventually

__all__ = ["api", "command", "folder"]  # fixtures

SERVICE = "appointments"


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def managed(sessions: async_sessionmaker[AsyncSession], folder: Path) -> ManagedRules:
    """The use cases over the test's database and rules folder, as the commands see them."""
    return ManagedRules(sessions, folder)


async def test_export_to_files_moves_a_service_back_keeping_its_versions(
    settings: Settings, folder: Path, command: Command, managed: ManagedRules
) -> None:
    file = folder / "appointments.yaml"
    assert (await command("rules", "import", str(file))).code == 0
    file.unlink()
    drafted = await managed.draft(SERVICE, WITH_MAYBE, Actor("tests"))
    assert await managed.publish(SERVICE, drafted.draft.id, "maybe", Actor("tests")) == 2

    moved = await command("rules", "export", SERVICE, "--to-files", "--reason", "back to git")
    assert moved.code == 0, moved.err
    assert f"service {SERVICE}: managed in files from now on; wrote {file}" in moved.out
    assert "version 2" in moved.out
    assert file.read_text(encoding="utf-8") == WITH_MAYBE  # the version in force, as it was
    assert await _events(settings, "rules_moved_to_files") == [(SERVICE, "rules version 2")]
    assert [v.number for v in await managed.versions(SERVICE)] == [2, 1]  # history kept
    in_force = await managed.in_force(SERVICE)
    assert (in_force.managed, in_force.version, in_force.yaml) == (
        Managed.FILES,
        None,
        WITH_MAYBE,
    )
    # The rule book the commands (and the processes) load has the service once, from the file.
    added = await command("users", "add", "x@surgery.example", "--service", SERVICE)
    assert added.code == 0, added.err
    printed = await command("rules", "export", SERVICE)
    assert (printed.out, "a rule file" in printed.err) == (WITH_MAYBE, True)

    again = await command("rules", "export", SERVICE, "--to-files")
    assert again.code == 2
    assert "managed in files already" in again.error

    # Back into inbound: the next version after the last, not version 1 again.
    file.write_text(APPOINTMENTS, encoding="utf-8")
    imported = await command("rules", "import", str(file))
    assert imported.code == 0, imported.err
    assert "version 3" in imported.out
    assert (await managed.in_force(SERVICE)).version == 3


async def test_export_to_files_never_overwrites_unless_asked_and_stays_in_the_rules_folder(
    settings: Settings, folder: Path, command: Command, managed: ManagedRules
) -> None:
    file = folder / "appointments.yaml"
    assert (await command("rules", "import", str(file))).code == 0
    # The file left in the folder after the import, then edited: not the version in force.
    file.write_text(WITH_MAYBE, encoding="utf-8")

    refused = await command("rules", "export", SERVICE, "--to-files")
    assert refused.code == 2
    assert f"{file} exists" in refused.error
    assert "--overwrite" in refused.error
    assert file.read_text(encoding="utf-8") == WITH_MAYBE
    elsewhere = str(folder.parent / "x.yaml")
    outside = await command("rules", "export", SERVICE, "--to-files", "--file", elsewhere)
    assert outside.code == 2
    assert "must be in the rules folder" in outside.error
    other = await command(
        "rules", "export", SERVICE, "--to-files", "--file", str(folder / "feedback.yaml")
    )
    assert other.code == 2
    assert "holds the rules of service" in other.error
    alone = await command("rules", "export", SERVICE, "--overwrite")
    assert alone.code == 2
    assert "only with --to-files" in alone.error
    assert (await managed.in_force(SERVICE)).managed is Managed.INBOUND
    assert await _events(settings, "rules_moved_to_files") == []

    replaced = await command("rules", "export", SERVICE, "--to-files", "--overwrite")
    assert replaced.code == 0, replaced.err
    assert file.read_text(encoding="utf-8") == APPOINTMENTS
    assert (await managed.in_force(SERVICE)).managed is Managed.FILES
    assert not [name for name in os.listdir(folder) if name.startswith(".")]  # no partial file


async def test_export_help_says_how_to_move_both_ways(command: Command) -> None:
    helped = await command("rules", "export", "--help")
    assert helped.code == 0
    said = " ".join(helped.out.split())
    assert "inbound rules import FILE" in said
    assert "--to-files" in said
    assert "--overwrite" in said
    assert "keeps the service's versions" in said


async def test_the_api_says_managed_files_after_the_move_and_the_file_is_in_force(
    api: Api, tmp_path: Path
) -> None:
    status, body = await api.call("GET", BASE, who=api.caseworker)
    assert (status, body["managed"]) == (200, "inbound")
    folder = tmp_path / "rules"  # the api fixture's rules folder
    managed = ManagedRules(api.stack.sessions, folder)
    moved = await managed.move_to_files(SERVICE, None, "back to files", Actor("tests"))
    assert moved.path == (folder / "appointments.yaml").resolve()
    status, body = await api.call("GET", BASE, who=api.caseworker)
    assert status == 200, body
    assert body == {"service": SERVICE, "version": None, "managed": "files", "yaml": APPOINTMENTS}
    status, body = await api.call("POST", BASE + "/drafts", raw=WITH_MAYBE, who=api.admin)
    assert (status, body["error"]["code"]) == (409, "managed_in_files"), body
    status, body = await api.call(
        "POST", BASE + "/versions/1/rollback", {"reason": "undo"}, who=api.admin
    )
    assert (status, body["error"]["code"]) == (409, "managed_in_files"), body
    status, body = await api.call("GET", BASE + "/versions", who=api.admin)
    assert (status, len(body["versions"])) == (200, 1)
    # The running process follows the file now: an edit to it is in force, not the version.
    moved.path.write_text(WITH_PERHAPS, encoding="utf-8")
    await eventually(lambda: api.in_force_mentions("perhaps"), bool, within=10)
    assert await api.decided("perhaps") == "confirm"


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_running_worker_moves_from_the_version_to_the_file_with_no_gap(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    folder = await appointments_in_inbound(database_url, tmp_path, NEW_VERSION, reason="import")
    base = process_env(env, database_url, folder)
    receiver = await start_inbound(env, "serve", tmp_path / "serve")
    worker = await start_inbound(env, "worker", tmp_path / "worker")
    try:
        await receiver.says("listening on")
        await worker.says("rules worker consuming")
        assert await _decided(base, database_url, "maybe") == "appointments:confirm"  # version 1

        # Replies keep arriving through the move: every one is decided by the service's rules.
        stop = asyncio.Event()
        sending = asyncio.create_task(_keep_sending(base, stop))
        try:
            code, out, err = await inbound_beside(env, "rules", "export", SERVICE, "--to-files")
            await asyncio.sleep(1)  # and for a poll or two after, while the processes reload
        finally:
            stop.set()
            during = await sending
        assert code == 0, err
        assert "managed in files from now on" in out
        file = folder / "appointments.yaml"
        assert file.read_text(encoding="utf-8") == NEW_VERSION
        decided = await eventually(
            lambda: _decisions(database_url, during), lambda found: len(found) == len(during)
        )
        assert len(during) > 20
        assert set(decided.values()) == {"appointments:confirm"}, decided

        # The file is what the worker follows now: an edit to it is in force within seconds.
        edited = folder / "edited.partial"  # renamed in whole, as an editor saving it does
        edited.write_text(NEW_VERSION.replace("maybe,", "maybe, perhaps,"), encoding="utf-8")
        edited.replace(file)
        await eventually(lambda: _outcome(base, database_url, worker, "perhaps"), _confirmed)
        for process in (receiver, worker):
            # Never both (a refused reload) and never none (a message to review for lack of it).
            assert "rules_reload_refused" not in process.logged()
            assert process.process.returncode is None
    finally:
        for process in (receiver, worker):
            if process.process.returncode is None:
                await process.terminate()


async def _keep_sending(base: str, stop: asyncio.Event) -> list[str]:
    """Send 'maybe' to the moved service's number every 50 ms until `stop`; the message ids."""
    sent: list[str] = []
    while not stop.is_set():
        message_id = f"during-{uuid.uuid4().hex[:10]}"
        payload = {"id": message_id, "from": "07700 900123", "to": NEW_NUMBER, "text": "maybe"}
        assert await post_generic(base, payload) == 202
        sent.append(message_id)
        await asyncio.sleep(0.05)
    return sent


async def _outcome(base: str, database_url: str, worker: Inbound, text: str) -> str:
    """Send `text`, wait until the worker has handled it; its outcome, or 'review'."""
    message_id = f"edit-{uuid.uuid4().hex[:10]}"
    payload = {"id": message_id, "from": "07700 900123", "to": NEW_NUMBER, "text": text}
    assert await post_generic(base, payload) == 202

    async def handled() -> bool:
        return message_id in worker.logged()

    await eventually(handled, bool)
    found = await _decisions(database_url, [message_id])
    return found.get(message_id, "review")


def _confirmed(outcome: str) -> bool:
    return outcome == "appointments:confirm"


async def _decided(base: str, database_url: str, text: str) -> str:
    """Send `text` to the number only the moved service has; how the worker decided it."""
    message_id = f"move-{uuid.uuid4().hex[:10]}"
    payload = {"id": message_id, "from": "07700 900123", "to": NEW_NUMBER, "text": text}
    assert await post_generic(base, payload) == 202
    found = await eventually(
        lambda: _decisions(database_url, [message_id]), lambda found: len(found) == 1
    )
    return found[message_id]


async def test_a_move_interrupted_after_its_file_is_finished_by_running_it_again(
    settings: Settings,
    folder: Path,
    command: Command,
    managed: ManagedRules,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    file = folder / "appointments.yaml"
    assert (await command("rules", "import", str(file))).code == 0
    file.unlink()
    # As a move that stopped between putting the file in place and finishing leaves it.
    async with sessions.begin() as session:
        versions = RuleVersions(session)
        last = await versions.last(SERVICE)
        assert last is not None
        await versions.start_release(last, str(file.resolve()), "tests", "interrupted")
    # Until the file is there, the version is in force; an import meanwhile is refused.
    assert (await managed.in_force(SERVICE)).managed is Managed.INBOUND
    elsewhere = folder.parent / "copy.yaml"
    elsewhere.write_text(APPOINTMENTS, encoding="utf-8")
    refused = await command("rules", "import", str(elsewhere))
    assert refused.code == 2
    assert "a move that didn't finish" in refused.error
    file.write_text(APPOINTMENTS, encoding="utf-8")

    finished = await command("rules", "export", SERVICE, "--to-files")
    assert finished.code == 0, finished.err
    assert f"kept (it already held them) {file.resolve()}" in finished.out
    assert await _events(settings, "rules_moved_to_files") == [(SERVICE, "rules version 1")]
    assert (await managed.in_force(SERVICE)).managed is Managed.FILES
