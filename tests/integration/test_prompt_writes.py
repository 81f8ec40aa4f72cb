"""Prompts written in bulk (`inbound.store.prompt_writes`) on real SQLite and PostgreSQL: a
batch sent again revises its prompts and never adds rows, over several statements too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.prompts.matching import Transition
from inbound.prompts.model import Prompt, PromptState
from inbound.rules.model import Action
from inbound.store import prompt_writes
from inbound.store.database import session_factory
from inbound.store.models import PromptRow
from inbound.store.prompts import Prompts

SENT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = "+447700900123"


def prompt(reference: str, to: str = ALICE, *, text: str = "Reply YES", hours: int = 0) -> Prompt:
    return Prompt(
        service="clinic",
        recipient=to,
        reference=reference,
        expects=frozenset({Action.confirm, Action.cancel}),
        sent_at=SENT + timedelta(hours=hours),
        expires_at=SENT + timedelta(days=3),
        text=text,
    )


async def rows(engine: AsyncEngine) -> dict[str, tuple[int, str | None, list[str], str]]:
    """Every stored prompt by reference: its id, text, expects and state."""
    async with session_factory(engine)() as session:
        found = await session.scalars(select(PromptRow))
        return {r.reference: (r.id, r.text, r.expects, r.state) for r in found}


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two prompts a statement, so a batch of five is three statements on PostgreSQL."""
    monkeypatch.setattr(prompt_writes, "SLICE", 2)


@pytest.mark.usefixtures("small_slices")
async def test_a_batch_sent_again_updates_every_prompt_and_adds_none(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    first = [prompt(f"appt-{n}") for n in range(5)]
    async with sessions.begin() as session:
        stored = await prompt_writes.store(session, first)
    assert [s.prompt for s in stored] == first
    before = await rows(engine)
    assert len(before) == 5
    assert {ref: row[1:] for ref, row in before.items()} == {
        f"appt-{n}": ("Reply YES", ["cancel", "confirm"], "open") for n in range(5)
    }
    again = [prompt(f"appt-{n}", text="Moved: reply YES") for n in range(5)]
    async with sessions.begin() as session:
        restored = await prompt_writes.store(session, again)
    after = await rows(engine)
    assert {ref: row[0] for ref, row in after.items()} == {
        ref: row[0] for ref, row in before.items()
    }
    assert {row[1] for row in after.values()} == {"Moved: reply YES"}
    assert [s.id for s in restored] == [s.id for s in stored]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PromptRow)) == 5


@pytest.mark.usefixtures("small_slices")
async def test_a_batch_over_several_statements_answers_in_its_own_order(
    engine: AsyncEngine,
) -> None:
    """Each prompt's id beside it, whichever statement wrote it; a prompt twice in a batch is
    one row, the later copy's."""
    batch = [prompt("c"), prompt("a"), prompt("b", to="+447700900456"), prompt("a", text="2nd")]
    async with session_factory(engine).begin() as session:
        stored = await prompt_writes.store(session, batch)
    assert [s.prompt.reference for s in stored] == ["c", "a", "b", "a"]
    assert stored[1] == stored[3]
    assert stored[3].prompt.text == "2nd"
    ids = {ref: row[0] for ref, row in (await rows(engine)).items()}
    assert [s.id for s in stored] == [ids["c"], ids["a"], ids["b"], ids["a"]]


async def test_an_answered_prompt_sent_again_keeps_its_answer(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        (stored,) = await prompt_writes.store(session, [prompt("appt-1")])
    answered = stored.prompt.answered(Action.cancel, SENT + timedelta(hours=1))
    async with sessions.begin() as session:
        assert await Prompts(session).record_answer(Transition(stored.prompt, answered), 7)
    async with sessions.begin() as session:
        (again,) = await prompt_writes.store(session, [prompt("appt-1", text="again")])
    assert again.id == stored.id
    assert again.prompt.state is PromptState.ANSWERED
    assert again.prompt.answer == answered.answer
    assert again.prompt.text == "again"
    assert again.answer_message_id == 7
    assert (await rows(engine))["appt-1"][1:] == ("again", ["cancel", "confirm"], "answered")


async def test_a_prompt_loaded_before_a_write_is_read_as_written(engine: AsyncEngine) -> None:
    """A session holding a prompt's row (as `withdraw` does while it works) that then sends
    the prompt again reads the prompt as sent, not the copy it had loaded."""
    async with session_factory(engine).begin() as session:
        await prompt_writes.store(session, [prompt("appt-1")])
        withdrawn = await Prompts(session).withdraw("clinic", "appt-1", ALICE)
        assert withdrawn is not None
        held = await session.scalar(select(PromptRow))
        assert held is not None
        assert held.state == "withdrawn"
        await prompt_writes.store(session, [prompt("appt-1", text="back on")])
        (listed,) = await Prompts(session).listing("clinic")
        assert listed.prompt.state is PromptState.OPEN
        assert listed.prompt.text == "back on"
        assert (held.state, held.text) == ("open", "back on")
        again = await Prompts(session).withdraw("clinic", "appt-1", ALICE)
        assert again is not None
        assert again.prompt.state is PromptState.WITHDRAWN
    assert (await rows(engine))["appt-1"][3] == "withdrawn"


async def test_store_later_only_moves_a_prompt_forward(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        first = await prompt_writes.store_later(session, prompt("appt-1", hours=2))
        same = await prompt_writes.store_later(session, prompt("appt-1", hours=2, text="x"))
        earlier = await prompt_writes.store_later(session, prompt("appt-1", hours=1, text="y"))
        later = await prompt_writes.store_later(session, prompt("appt-1", hours=3, text="z"))
    assert first is not None
    assert same is None
    assert earlier is None
    assert later is not None
    assert later.id == first.id
    assert (await rows(engine))["appt-1"][1] == "z"


async def test_nothing_sent_writes_nothing(engine: AsyncEngine) -> None:
    async with session_factory(engine).begin() as session:
        assert await prompt_writes.store(session, []) == []
    assert await rows(engine) == {}
