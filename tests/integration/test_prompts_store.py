"""The prompts repository on real SQLite and PostgreSQL (issue 15)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.prompts.matching import Transition
from inbound.prompts.model import Prompt, PromptState
from inbound.rules.model import Action
from inbound.store import prompt_writes
from inbound.store.database import session_factory
from inbound.store.models import Base, PromptRow
from inbound.store.prompts import Prompts

SENT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = "+447700900123"
BOB = "+447700900456"


def prompt(reference: str = "appt-1", to: str = ALICE, **changes: object) -> Prompt:
    made = Prompt(
        service="clinic",
        recipient=to,
        reference=reference,
        expects=frozenset({Action.confirm, Action.cancel}),
        sent_at=SENT,
        expires_at=SENT + timedelta(days=3),
        text="Reminder: reply YES or CANCEL",
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def count(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(PromptRow)) or 0)


async def test_a_batch_is_stored_and_read_back_as_prompts(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    batch = [prompt("appt-1"), prompt("appt-2", text=None), prompt("appt-1", to=BOB)]
    async with sessions.begin() as session:
        stored = await prompt_writes.store(session, batch)
    assert [s.prompt.key for s in stored] == [p.key for p in batch]
    assert len({s.id for s in stored}) == 3
    async with sessions() as session:
        alice = await Prompts(session).open_for("clinic", ALICE)
    assert alice == [batch[0], batch[1]]
    assert alice[1].text is None
    assert alice[0].sent_at.utcoffset() is not None


async def test_sending_the_same_prompt_again_updates_it_and_never_duplicates_it(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        (first,) = await prompt_writes.store(session, [prompt()])
    later = prompt(expires_at=SENT + timedelta(days=5), text="Moved: reply YES")
    async with sessions.begin() as session:
        (second,) = await prompt_writes.store(session, [later])
    assert second.id == first.id
    assert second.prompt == later
    assert await count(engine) == 1


async def test_the_same_prompt_twice_in_one_batch_is_stored_once_the_later_winning(
    engine: AsyncEngine,
) -> None:
    later = prompt(text="second copy")
    async with session_factory(engine).begin() as session:
        stored = await prompt_writes.store(session, [prompt(), later])
    assert stored[0].id == stored[1].id
    assert stored[1].prompt.text == "second copy"
    assert await count(engine) == 1


class RequestFailed(Exception):
    """The request that sent a batch failed after the prompts were written."""


async def send_then_fail(engine: AsyncEngine, batch: list[Prompt]) -> None:
    async with session_factory(engine).begin() as session:
        await prompt_writes.store(session, batch)
        raise RequestFailed


async def send(engine: AsyncEngine, batch: list[Prompt]) -> None:
    async with session_factory(engine).begin() as session:
        await prompt_writes.store(session, batch)


async def test_a_batch_is_all_or_nothing(engine: AsyncEngine) -> None:
    with pytest.raises(RequestFailed):
        await send_then_fail(engine, [prompt("appt-1"), prompt("appt-2")])
    assert await count(engine) == 0
    if engine.dialect.name == "postgresql":
        too_long = prompt("x" * 201)  # longer than the column: PostgreSQL refuses the row
        with pytest.raises(DBAPIError):
            await send(engine, [prompt("appt-1"), too_long])
        assert await count(engine) == 0


async def test_resending_an_answered_prompt_keeps_its_answer(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        (stored,) = await prompt_writes.store(session, [prompt()])
    answered = stored.prompt.answered(Action.confirm, SENT + timedelta(hours=1))
    async with sessions.begin() as session:
        assert await Prompts(session).record_answer(Transition(stored.prompt, answered), 42)
    async with sessions.begin() as session:
        (again,) = await prompt_writes.store(session, [prompt(text="again")])
    assert again.prompt.state is PromptState.ANSWERED
    assert again.prompt.answer == answered.answer
    assert again.prompt.text == "again"
    assert again.answer_message_id == 42


async def test_a_withdrawn_prompt_sent_again_is_open(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await prompt_writes.store(session, [prompt()])
    async with sessions.begin() as session:
        withdrawn = await Prompts(session).withdraw("clinic", "appt-1", ALICE)
    assert withdrawn is not None
    assert withdrawn.prompt.state is PromptState.WITHDRAWN
    async with sessions() as session:
        assert await Prompts(session).open_for("clinic", ALICE) == []
    async with sessions.begin() as session:
        (again,) = await prompt_writes.store(session, [prompt()])
    assert again.prompt.state is PromptState.OPEN


async def test_withdrawing_an_unknown_prompt_finds_nothing(engine: AsyncEngine) -> None:
    async with session_factory(engine).begin() as session:
        await prompt_writes.store(session, [prompt()])
        prompts = Prompts(session)
        assert await prompts.withdraw("clinic", "appt-2", ALICE) is None
        assert await prompts.withdraw("clinic", "appt-1", BOB) is None
        assert await prompts.withdraw("other", "appt-1", ALICE) is None


async def test_an_answer_is_recorded_once_when_two_replies_race(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        (stored,) = await prompt_writes.store(session, [prompt()])
    yes = Transition(stored.prompt, stored.prompt.answered(Action.confirm, SENT))
    cancel = Transition(stored.prompt, stored.prompt.answered(Action.cancel, SENT))
    async with sessions.begin() as session:
        assert await Prompts(session).record_answer(yes, 1)
    async with sessions.begin() as session:
        assert not await Prompts(session).record_answer(cancel, 2)
        (now,) = await Prompts(session).for_number("clinic", ALICE)
    assert now.answer is not None
    assert now.answer.action is Action.confirm


async def test_a_batch_of_answers_is_one_statement_and_all_or_none(engine: AsyncEngine) -> None:
    """New answers and a changed one are stored together, each with its own values; when one
    prompt was changed meanwhile the call says so, and the caller's rollback keeps them all."""
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        repo = Prompts(session)
        first, second, third = await prompt_writes.store(
            session, [prompt("a-1"), prompt("a-2"), prompt("a-3")]
        )
        confirmed = Transition(first.prompt, first.prompt.answered(Action.confirm, SENT))
        assert await repo.record_answer(confirmed, 10)
    later = SENT + timedelta(hours=1)
    changed = Transition(confirmed.after, confirmed.after.answered(Action.cancel, later))
    answers = [
        (first.id, changed, 11),
        (second.id, Transition(second.prompt, second.prompt.answered(Action.confirm, later)), 12),
        (third.id, Transition(third.prompt, third.prompt.answered(Action.cancel, later)), 13),
    ]
    async with sessions.begin() as session:
        assert await Prompts(session).record_answers(answers)
    async with sessions() as session:
        rows = {
            row.reference: (row.state, row.answer_action, row.answered_at, row.answer_message_id)
            for row in await session.scalars(select(PromptRow))
        }
    assert rows == {
        "a-1": ("answered", "cancel", later, 11),
        "a-2": ("answered", "confirm", later, 12),
        "a-3": ("answered", "cancel", later, 13),
    }
    # One stale answer (a-2 moved on) beside a fresh one (a-4): the call says so, and the
    # worker's rollback leaves a-4 open too.
    async with sessions.begin() as session:
        (fourth,) = await prompt_writes.store(session, [prompt("a-4")])
    fresh = (
        fourth.id,
        Transition(fourth.prompt, fourth.prompt.answered(Action.confirm, later)),
        14,
    )
    session = sessions()
    try:
        async with session.begin():
            stale = (second.id, answers[1][1], 22)  # a later reply, decided on a-2 as it was
            assert not await Prompts(session).record_answers([stale, fresh])
            raise RuntimeError("roll back, as the worker does")
    except RuntimeError:
        pass
    finally:
        await session.close()
    async with sessions() as session:
        unchanged = {
            row.reference: row.answer_message_id for row in await session.scalars(select(PromptRow))
        }
    assert unchanged == {"a-1": 11, "a-2": 12, "a-3": 13, "a-4": None}


async def test_one_prompt_answered_twice_in_a_batch_keeps_the_last_answer(
    engine: AsyncEngine,
) -> None:
    """ "YES" then "actually cancel" in one batch (changes allowed): two transitions of one
    prompt, stored as the second left it, and the call says all went in."""
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        (stored,) = await prompt_writes.store(session, [prompt("twice")])
    later = SENT + timedelta(minutes=5)
    yes = Transition(stored.prompt, stored.prompt.answered(Action.confirm, SENT))
    cancel = Transition(yes.after, yes.after.answered(Action.cancel, later))
    async with sessions.begin() as session:
        assert await Prompts(session).record_answers(
            [(stored.id, yes, 31), (stored.id, cancel, 32)]
        )
    async with sessions() as session:
        row = await session.scalar(select(PromptRow))
    assert row is not None
    assert (row.state, row.answer_action, row.answered_at, row.answer_message_id) == (
        "answered",
        "cancel",
        later,
        32,
    )


async def test_answers_are_one_statement_whose_text_is_the_same_for_any_batch(
    engine: AsyncEngine,
) -> None:
    """One UPDATE a batch, the same SQL whether it carries one answer or three: compiled and
    prepared once, where a statement listing the answers was compiled afresh for each batch
    (most of what prompts added to a batch's time, `make bench`)."""
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        stored = await prompt_writes.store(session, [prompt(f"s-{n}") for n in range(4)])
    updates: list[str] = []

    def seen(_c: object, _cur: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        for batch, message_id in ((stored[:1], 40), (stored[1:], 50)):
            answers = [
                (one.id, Transition(one.prompt, one.prompt.answered(Action.confirm, SENT)), n)
                for n, one in enumerate(batch, start=message_id)
            ]
            async with sessions.begin() as session:
                assert await Prompts(session).record_answers(answers)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert len(updates) == 2
    assert updates[0] == updates[1]
    async with sessions() as session:
        answered = {
            row.reference: row.answer_message_id for row in await session.scalars(select(PromptRow))
        }
    assert answered == {"s-0": 40, "s-1": 50, "s-2": 51, "s-3": 52}


async def test_numbers_and_services_are_kept_apart(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await prompt_writes.store(
            session,
            [prompt("appt-1"), prompt("appt-2", to=BOB), replace(prompt("appt-3"), service="gp")],
        )
    async with sessions() as session:
        prompts = Prompts(session)
        assert [p.reference for p in await prompts.open_for("clinic", ALICE)] == ["appt-1"]
        assert [p.reference for p in await prompts.open_for("gp", ALICE)] == ["appt-3"]
        assert await prompts.open_for("clinic", "+447700900999") == []


async def test_listing_shows_all_or_only_the_open(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await prompt_writes.store(session, [prompt("appt-1"), prompt("appt-2")])
        await Prompts(session).withdraw("clinic", "appt-1", ALICE)
    async with sessions() as session:
        everything = await Prompts(session).listing("clinic")
        opened = await Prompts(session).listing("clinic", open_only=True)
    assert [s.prompt.reference for s in everything] == ["appt-1", "appt-2"]
    assert [s.prompt.reference for s in opened] == ["appt-2"]


async def test_ten_thousand_prompts_in_one_batch(engine: AsyncEngine) -> None:
    batch = [prompt(f"appt-{n}") for n in range(10_000)]
    async with session_factory(engine).begin() as session:
        stored = await prompt_writes.store(session, batch)
    assert len({s.id for s in stored}) == 10_000
    assert await count(engine) == 10_000


async def test_the_database_refuses_a_second_row_for_one_prompt(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    row = {
        "service_id": "clinic",
        "recipient": ALICE,
        "reference": "appt-1",
        "expects": ["confirm"],
        "sent_at": SENT,
        "expires_at": SENT + timedelta(days=1),
        "state": "open",
        "created_at": now,
        "updated_at": now,
    }
    with pytest.raises(IntegrityError):
        async with session_factory(engine).begin() as session:
            session.add_all([PromptRow(**row), PromptRow(**row)])


async def test_two_clients_sending_the_same_prompt_at_once_leave_one_row(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)

    async def send() -> int:
        async with sessions.begin() as session:
            (stored,) = await prompt_writes.store(session, [prompt()])
            return stored.id

    ids = await asyncio.gather(*(send() for _ in range(5)))
    assert len(set(ids)) == 1
    assert await count(engine) == 1


async def test_the_key_is_the_lookups_index_and_there_is_no_other(engine: AsyncEngine) -> None:
    """A reply's lookup by (service, recipient) reads the unique key, which leads with them; a
    third index would be one more entry written by every answer that can't be HOT (0020)."""

    def shape(connection: Connection) -> tuple[list[list[str]], list[object]]:
        found = inspect(connection)
        keys = [list(u["column_names"]) for u in found.get_unique_constraints("prompts")]
        return keys, [index["name"] for index in found.get_indexes("prompts")]

    async with engine.connect() as connection:
        keys, indexes = await connection.run_sync(shape)
    assert keys == [["service_id", "recipient", "reference"]]
    if engine.dialect.name == "postgresql":
        # PostgreSQL lists the key's own index among the indexes; SQLite does not.
        assert indexes == ["uq_prompts_service_recipient_reference"]
        async with engine.connect() as connection:
            plan = "\n".join(
                await connection.scalars(
                    text(
                        "EXPLAIN SELECT id FROM prompts WHERE service_id = 'clinic' "
                        "AND recipient = ANY(ARRAY['+447700900123', '+447700900456'])"
                    )
                )
            )
        assert "uq_prompts_service_recipient_reference" in plan
    else:
        assert indexes == []


async def test_the_migrated_schema_is_the_models(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
