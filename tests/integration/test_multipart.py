"""Concatenated SMS: parts accepted one by one, joined once by the worker, on both databases."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.message import InboundMessage, Part
from inbound.outcome import Status
from inbound.rules.compiled import CompiledRules
from inbound.store.database import session_factory
from inbound.store.models import Message, MessagePart, Outcome, ReviewItem
from inbound.worker.process import expire_overdue_parts, process_message
from tests.integration.conftest import Stack

TEXT = ["REPORT broken street", "light on Mill Lane nea", "r the school"]


def part(number: int, reference: str = "ref-1", total: int = 3, **changes: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "provider": "generic",
        "provider_message_id": f"{reference}-p{number}",
        "sender": "+447700900123",
        "recipient": "+447700900000",
        "text": TEXT[number - 1],
        "received_at": datetime(2026, 11, 28, 9, 0, number, tzinfo=UTC),
        "part": Part(reference=reference, total=total, number=number),
    }
    fields.update(changes)
    return InboundMessage(**fields)


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with session_factory(engine)() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Message)) or 0),
            int(await session.scalar(select(func.count()).select_from(Outcome)) or 0),
            int(await session.scalar(select(func.count()).select_from(ReviewItem)) or 0),
        )


async def test_shuffled_and_duplicated_parts_are_joined_once(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    deliveries = [part(3), part(1), part(3), part(2), part(1)]
    results = [await process_message(sessions, rules, message) for message in deliveries]
    assert [r.status for r in results] == [
        Status.WAITING,
        Status.WAITING,
        Status.DUPLICATE,
        Status.PROCESSED,
        Status.DUPLICATE,
    ]
    assert await counts(engine) == (1, 1, 0)
    async with sessions() as session:
        whole = await session.scalar(select(Message))
        outcome = await session.scalar(select(Outcome))
        texts = (await session.scalars(select(MessagePart.text))).all()
    assert whole is not None
    assert outcome is not None
    assert whole.text == "".join(TEXT)
    assert whole.provider_message_id == "ref-1-p1"
    assert whole.received_at == datetime(2026, 11, 28, 9, 0, 1, tzinfo=UTC)
    assert outcome.captures == {"details": "broken streetlight on Mill Lane near the school"}
    assert texts == [None, None, None]  # the whole carries the text now


async def test_parts_processed_concurrently_are_joined_exactly_once(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    for round_number in range(5):
        reference = f"race-{round_number}"
        deliveries = [part(n, reference) for n in (1, 2, 3)] * 2
        random.Random(round_number).shuffle(deliveries)
        await asyncio.gather(*(process_message(sessions, rules, m) for m in deliveries))
    assert await counts(engine) == (5, 5, 0)


async def test_incomplete_parts_go_to_review_after_the_timeout(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    await process_message(sessions, rules, part(1))
    await process_message(sessions, rules, part(3))
    not_yet = await expire_overdue_parts(sessions, rules, datetime.now(UTC) - timedelta(minutes=10))
    assert not_yet == 0
    expired = await expire_overdue_parts(sessions, rules, datetime.now(UTC) + timedelta(seconds=1))
    assert expired == 1
    assert await counts(engine) == (1, 0, 1)
    async with sessions() as session:
        whole = await session.scalar(select(Message))
        review = await session.scalar(select(ReviewItem))
    assert whole is not None
    assert review is not None
    assert whole.text == "REPORT broken street [part 2 of 3 missing] r the school"
    assert review.reason == "incomplete multipart message: 2 of 3 parts arrived"
    # The missing part turning up later is not lost either.
    late = await process_message(sessions, rules, part(2))
    assert late.status == Status.REVIEW
    assert await counts(engine) == (2, 0, 2)


async def test_parts_flow_through_the_webhook_and_worker(stack: Stack) -> None:
    reference = uuid.uuid4().hex[:8]
    payloads = [
        {
            "id": f"{reference}-{number}",
            "from": "+447700900123",
            "to": "+447700900000",
            "text": TEXT[number - 1],
            "part": {"reference": reference, "total": 3, "number": number},
        }
        for number in (2, 3, 1, 3)
    ]
    for payload in payloads:
        assert (await stack.post_generic(payload)).status == 202
    whole = await stack.processed(f"{reference}-1")
    assert whole.text == "".join(TEXT)
    assert await stack.count(Message) == 1
    outcome = await stack.outcome_for(f"{reference}-1")
    assert outcome is not None
    assert outcome.action == "report"


async def test_part_numbers_past_the_total_are_refused(stack: Stack) -> None:
    payload = {
        "id": "bad-part",
        "from": "+447700900123",
        "to": "+447700900000",
        "text": "x",
        "part": {"reference": "r", "total": 2, "number": 3},
    }
    answer = await stack.post_generic(payload)
    assert answer.status == 422
    assert answer.json()["error"]["field"].startswith("part")
