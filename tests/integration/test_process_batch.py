"""Processing a batch of messages in one transaction, on real SQLite and PostgreSQL: each ends
where it would alone, repeats are skipped, side effects keep their limits, and a failure
commits nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.message import InboundMessage
from inbound.outcome import Status
from inbound.rules.compiled import CompiledRules
from inbound.states import ActionState
from inbound.store.database import create_engine, session_factory
from inbound.store.models import Action, Message, OptOut, Outcome, ReviewItem
from inbound.worker.process import process_batch, process_message
from tests.integration.reliability_support import pg_url

__all__ = ["pg_url"]  # a fixture

SERVICE = "+447700900000"  # the example appointments service's number


def message(
    message_id: str, text: str, to: str = SERVICE, sender: str = "+447700900123"
) -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id=message_id,
        sender=sender,
        recipient=to,
        text=text,
        received_at=datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
    )


async def rows(engine: AsyncEngine, model: type[object]) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_each_message_in_a_batch_ends_where_it_would_alone(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    earlier = await process_message(sessions, rules, message("b-0", "yes"))
    assert earlier.status is Status.PROCESSED
    batch = [
        message("b-1", "Yes!", sender="+447700900201"),
        message("b-2", "Yes but can I change the time?", sender="+447700900202"),
        message("b-3", "yes", to="+447700900999"),  # no service owns this number
        message("b-0", "yes"),  # stored before: a redelivery
        message("b-4", "STOP", sender="+447700900204"),
    ]
    results = await process_batch(sessions, rules, batch)
    assert [r.status for r in results] == [
        Status.PROCESSED,
        Status.REVIEW,
        Status.REVIEW,
        Status.DUPLICATE,
        Status.PROCESSED,
    ]
    assert results[0].decision is not None
    assert results[0].decision.action == "confirm"
    assert len(results[0].actions) == 2  # the callback and the reply
    assert results[3].actions == ()
    async with sessions() as session:
        stored = {m.provider_message_id: m for m in await session.scalars(select(Message))}
        reviews = {r.message_id: r for r in await session.scalars(select(ReviewItem))}
        outcomes = {o.message_id: o for o in await session.scalars(select(Outcome))}
        opted_out = list(await session.scalars(select(OptOut.number)))
        pending = set(
            await session.scalars(select(Action.id).where(Action.state == ActionState.PENDING))
        )
    assert sorted(stored) == ["b-0", "b-1", "b-2", "b-3", "b-4"]
    assert outcomes[stored["b-1"].id].action == "confirm"
    assert outcomes[stored["b-4"].id].action == "opt_out"
    assert stored["b-1"].status == "processed"
    assert stored["b-2"].status == "review"
    assert reviews[stored["b-2"].id].service_id == "appointments"
    assert reviews[stored["b-3"].id].service_id is None
    assert reviews[stored["b-3"].id].reason.startswith("no service owns")
    assert opted_out == ["+447700900204"]
    assert set(results[0].actions) <= pending
    assert len(outcomes) == 3  # b-0 from before, b-1, b-4
    assert len(reviews) == 2


async def test_the_reply_cap_holds_within_one_batch(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    """Four confirmations from one number in one batch: the fourth reply is over the cap (3 an
    hour), though none of the others had been committed when it was decided."""
    sessions = session_factory(engine)
    results = await process_batch(sessions, rules, [message(f"cap-{n}", "yes") for n in range(4)])
    assert [r.status for r in results] == [Status.PROCESSED] * 4
    async with sessions() as session:
        replies = list(
            await session.scalars(
                select(Action.state).where(Action.kind == "reply").order_by(Action.id)
            )
        )
    assert replies == [
        ActionState.PENDING,
        ActionState.PENDING,
        ActionState.PENDING,
        ActionState.SUPPRESSED,
    ]


async def test_a_message_the_database_refuses_fails_the_batch_and_nothing_is_committed(
    pg_url: str, rules: CompiledRules
) -> None:
    engine = create_engine(pg_url)
    try:
        sessions = session_factory(engine)
        batch = [message("ok-1", "yes"), message("nul-1", "yes\x00please"), message("ok-2", "no")]
        with pytest.raises(Exception, match="invalid byte sequence"):
            await process_batch(sessions, rules, batch)
        assert await rows(engine, Message) == 0
        assert await rows(engine, Action) == 0
    finally:
        await engine.dispose()


async def test_a_review_item_opened_in_a_batch_keeps_its_messages_time(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    """The queue's day filter and its counts per reason read the item's own copy of when its
    message was received (migration 0017)."""
    sessions = session_factory(engine)
    batch = [message("rt-1", "Yes but can I change the time?", sender="+447700900301")]
    [result] = await process_batch(sessions, rules, batch)
    assert result.status is Status.REVIEW
    async with sessions() as session:
        item = await session.scalar(select(ReviewItem))
        assert item is not None
        stored = await session.get(Message, item.message_id)
        assert stored is not None
        assert item.received_at is not None
        assert item.received_at == stored.accepted_at
