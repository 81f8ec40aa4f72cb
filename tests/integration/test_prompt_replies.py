"""Replies matched to the prompts that asked for them, by the rules worker's processing, on real
SQLite and PostgreSQL: the outcome and its callback name the prompt, the prompt is answered, an
answer it didn't ask for goes to a person, and the same answer twice acts once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inbound.message import InboundMessage
from inbound.outcome import Status
from inbound.prompts.model import Prompt, PromptState
from inbound.rules.compiled import CompiledRules
from inbound.rules.model import Action as RuleAction
from inbound.states import ActionKind
from inbound.store import prompt_writes
from inbound.store.database import session_factory
from inbound.store.models import Action, Message, Outcome, PromptRow, ReviewItem
from inbound.worker.process import PromptsChanged, process_batch, process_message

SERVICE = "+447700900000"  # the example appointments service's number
SENDER = "+447700900123"
SENT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def reply(message_id: str, text: str, minutes: int = 60, sender: str = SENDER) -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id=message_id,
        sender=sender,
        recipient=SERVICE,
        text=text,
        received_at=SENT + timedelta(minutes=minutes),
    )


def prompt(reference: str, *expects: RuleAction, sender: str = SENDER) -> Prompt:
    return Prompt(
        service="appointments",
        recipient=sender,
        reference=reference,
        expects=frozenset(expects or (RuleAction.confirm, RuleAction.cancel)),
        sent_at=SENT,
        expires_at=SENT + timedelta(days=3),
        text="Reminder: reply YES or CANCEL",
    )


async def send(sessions: async_sessionmaker[AsyncSession], *prompts: Prompt) -> None:
    async with sessions.begin() as session:
        await prompt_writes.store(session, prompts)


async def stored(sessions: async_sessionmaker[AsyncSession], message_id: str) -> Message:
    async with sessions() as session:
        row = await session.scalar(select(Message).where(Message.provider_message_id == message_id))
    assert row is not None
    return row


async def prompt_row(sessions: async_sessionmaker[AsyncSession], reference: str) -> PromptRow:
    async with sessions() as session:
        row = await session.scalar(select(PromptRow).where(PromptRow.reference == reference))
    assert row is not None
    return row


async def callbacks(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessions() as session:
        payloads = await session.scalars(
            select(Action.payload).where(Action.kind == ActionKind.CALLBACK).order_by(Action.id)
        )
        return [payload["event"] for payload in payloads]


async def outcomes(sessions: async_sessionmaker[AsyncSession]) -> Sequence[Outcome]:
    async with sessions() as session:
        return list(await session.scalars(select(Outcome).order_by(Outcome.id)))


async def test_an_answer_names_its_prompt_in_the_outcome_and_the_callback(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    await send(sessions, prompt("appt-8812"))
    result = await process_message(sessions, rules, reply("r-1", "Yes please"))
    assert result.status is Status.PROCESSED
    message = await stored(sessions, "r-1")
    answered = await prompt_row(sessions, "appt-8812")
    assert (answered.state, answered.answer_action) == (PromptState.ANSWERED, "confirm")
    assert answered.answer_message_id == message.id
    assert message.prompt_id == answered.id
    assert message.prompt_match == "answers reminder appt-8812: confirm"
    [event] = await callbacks(sessions)
    assert event["prompt"] == {
        "reference": "appt-8812",
        "sent_at": "2026-11-28T09:00:00+00:00",
        "expires_at": "2026-12-01T09:00:00+00:00",
    }


async def test_a_reply_from_a_number_with_no_prompt_acts_as_before_with_no_prompt(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    await send(sessions, prompt("appt-1", sender="+447700900999"))  # someone else's
    [result] = await process_batch(sessions, rules, [reply("r-1", "yes")])
    assert result.status is Status.PROCESSED
    message = await stored(sessions, "r-1")
    assert (message.prompt_id, message.prompt_match) == (None, None)
    [event] = await callbacks(sessions)
    assert event["prompt"] is None


async def test_an_answer_the_reminder_did_not_ask_for_goes_to_a_person(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    await send(sessions, prompt("appt-8812", RuleAction.confirm))
    [result] = await process_batch(sessions, rules, [reply("r-1", "cancel")])
    assert result.status is Status.REVIEW
    message = await stored(sessions, "r-1")
    async with sessions() as session:
        item = await session.scalar(select(ReviewItem))
    assert item is not None
    assert item.reason == (
        "not one of the answers this reminder asked for: cancel "
        "(reminder appt-8812 expects confirm)"
    )
    still = await prompt_row(sessions, "appt-8812")
    assert still.state == PromptState.OPEN  # a person's decision is still to come
    assert message.prompt_id == still.id
    assert await outcomes(sessions) == []
    assert await callbacks(sessions) == []


async def test_the_same_answer_twice_acts_once_in_one_batch_or_later(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    await send(sessions, prompt("appt-8812"), prompt("appt-9", sender="+447700900124"))
    first = await process_batch(
        sessions,
        rules,
        [
            reply("r-1", "yes", minutes=60),
            reply("r-2", "YES!", minutes=61),
            reply("s-1", "yes", sender="+447700900124"),
        ],
    )
    later = await process_message(sessions, rules, reply("r-3", "yes", minutes=90))
    assert [r.status for r in first] == [Status.PROCESSED, Status.REPEAT, Status.PROCESSED]
    assert later.status is Status.REPEAT
    assert later.actions == ()
    assert [o.action for o in await outcomes(sessions)] == ["confirm", "confirm"]
    assert [e["prompt"]["reference"] for e in await callbacks(sessions)] == ["appt-8812", "appt-9"]
    repeat = await stored(sessions, "r-3")
    assert repeat.status == Status.REPEAT
    assert repeat.prompt_match == "repeats the answer already given to reminder appt-8812: confirm"
    async with sessions() as session:
        assert await session.scalar(select(ReviewItem)) is None


async def test_a_changed_answer_goes_to_a_person_and_keeps_the_first(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    await send(sessions, prompt("appt-8812"))
    results = await process_batch(
        sessions, rules, [reply("r-1", "yes", minutes=60), reply("r-2", "cancel", minutes=70)]
    )
    assert [r.status for r in results] == [Status.PROCESSED, Status.REVIEW]
    async with sessions() as session:
        item = await session.scalar(select(ReviewItem))
    assert item is not None
    assert item.reason == "changes an earlier answer to reminder appt-8812 (confirm to cancel)"
    kept = await prompt_row(sessions, "appt-8812")
    assert kept.answer_action == "confirm"


async def test_a_redelivered_answer_in_a_batch_is_not_taken_as_a_new_one(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    """The first copy went to review (the prompt then expected only confirm); the service sent
    the prompt again expecting cancel too, so a redelivery decided afresh would answer it: the
    batch must not let that stored message's second plan decide the next reply."""
    sessions = session_factory(engine)
    await send(sessions, prompt("appt-8812", RuleAction.confirm))
    assert (await process_message(sessions, rules, reply("r-1", "cancel"))).status is Status.REVIEW
    await send(sessions, prompt("appt-8812", RuleAction.confirm, RuleAction.cancel))
    batch = [reply("r-1", "cancel"), reply("r-2", "cancel", minutes=70)]
    with pytest.raises(PromptsChanged):
        await process_batch(sessions, rules, batch)
    assert await outcomes(sessions) == []  # nothing of the batch was committed
    # The worker then goes one by one: the redelivery is a duplicate, and the new reply is
    # the prompt's one answer.
    results = [await process_message(sessions, rules, one) for one in batch]
    assert [r.status for r in results] == [Status.DUPLICATE, Status.PROCESSED]
    assert [o.action for o in await outcomes(sessions)] == ["cancel"]
    assert (await prompt_row(sessions, "appt-8812")).answer_message_id == (
        await stored(sessions, "r-2")
    ).id


async def test_replies_racing_for_one_prompt_act_once(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    """Several workers' batches carry answers to the same prompts at once: each prompt is
    answered once, with one outcome and one callback; the rest are repeats."""
    sessions = session_factory(engine)
    senders = [f"+4477009002{n:02d}" for n in range(10)]
    await send(sessions, *(prompt(f"appt-{n}", sender=s) for n, s in enumerate(senders)))

    async def worker(copy: int) -> None:
        batch = [reply(f"r-{copy}-{s}", "yes", minutes=60 + copy, sender=s) for s in senders]
        try:
            await process_batch(sessions, rules, batch)
        except (PromptsChanged, SQLAlchemyError):  # as the worker does: one by one
            for one in batch:
                await process_message(sessions, rules, one)

    await asyncio.gather(*(worker(copy) for copy in range(3)))
    assert sorted(len(senders) * ["confirm"]) == [o.action for o in await outcomes(sessions)]
    events = await callbacks(sessions)
    assert sorted(e["prompt"]["reference"] for e in events) == sorted(
        f"appt-{n}" for n in range(10)
    )
    async with sessions() as session:
        statuses = list(await session.scalars(select(Message.status)))
    assert sorted(statuses) == sorted(10 * ["processed"] + 20 * ["repeat"])
