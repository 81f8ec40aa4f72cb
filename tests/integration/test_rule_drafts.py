"""A draft saved from two places at once (two tabs, two admins) on SQLite and PostgreSQL: each
change names the YAML it was made to, so one save stands and the other is refused, never
silently overwritten (issue 18)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inbound.managed_rules import Actor, DraftChanged, ManagedRules, revision
from inbound.store.database import create_engine, session_factory
from tests.support.managed_rules import (
    APPOINTMENTS,
    WITH_MAYBE,
    WITH_PERHAPS,
    appointments_in_inbound,
    example_folder,
    import_rules,
)

SERVICE = "appointments"


async def test_of_two_saves_from_the_same_draft_one_stands_and_one_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    folder = await appointments_in_inbound(database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        managed = ManagedRules(session_factory(engine), folder)
        draft = (await managed.draft(SERVICE, APPOINTMENTS, Actor("ana"))).draft.id
        saves = await asyncio.gather(
            *(
                managed.change_draft(SERVICE, draft, text, was=APPOINTMENTS)
                for text in (WITH_MAYBE, WITH_PERHAPS)
            ),
            return_exceptions=True,
        )
        refused = [save for save in saves if isinstance(save, DraftChanged)]
        assert len(refused) == 1, saves
        assert "changed since this change began" in str(refused[0])
        stored = (await managed.draft_of(SERVICE, draft)).draft.yaml
        assert stored in (WITH_MAYBE, WITH_PERHAPS)
        # A change made to what is stored now is saved.
        await managed.change_draft(SERVICE, draft, APPOINTMENTS, was=stored)
        assert (await managed.draft_of(SERVICE, draft)).draft.yaml == APPOINTMENTS
        with pytest.raises(DraftChanged):
            await managed.change_draft(SERVICE, draft, WITH_MAYBE, was=stored)
    finally:
        await engine.dispose()


def test_a_revision_names_the_yaml_it_was_made_from() -> None:
    assert revision(WITH_MAYBE) == revision(WITH_MAYBE)
    assert revision(WITH_MAYBE) != revision(WITH_PERHAPS)


async def test_the_open_drafts_are_those_of_the_version_in_force_newest_first(
    database_url: str, tmp_path: Path
) -> None:
    folder = example_folder(tmp_path, "appointments.yaml")
    engine = create_engine(database_url)
    try:
        managed = ManagedRules(session_factory(engine), folder)
        assert await managed.open_drafts(SERVICE) == []  # in files until imported
        await import_rules(database_url, folder, APPOINTMENTS)
        old = (await managed.draft(SERVICE, WITH_MAYBE, Actor("ana"))).draft.id
        await managed.publish(SERVICE, old, "maybe means yes", Actor("ana"))
        first = (await managed.draft(SERVICE, WITH_PERHAPS, Actor("bo"))).draft.id
        second = (await managed.draft(SERVICE, APPOINTMENTS, Actor("ana"))).draft.id
        found = await managed.open_drafts(SERVICE)
        assert [(d.id, d.author, d.based_on) for d in found] == [
            (second, "ana", 2),
            (first, "bo", 2),
        ]
    finally:
        await engine.dispose()
