"""Migrations and the "process a message" use case on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.message import InboundMessage
from inbound.outcome import Status
from inbound.rules.compiled import CompiledRules
from inbound.store.database import create_engine, session_factory
from inbound.store.migrate import SchemaOutOfDate, alembic_config, require_current, revisions
from inbound.store.models import Message, Outcome, ReviewItem
from inbound.worker.process import process_message


def message(text: str, message_id: str = "p-1", to: str = "+447700900000") -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id=message_id,
        sender="+447700900123",
        recipient=to,
        text=text,
        received_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    )


async def test_fresh_database_is_refused_until_migrated(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    try:
        with pytest.raises(SchemaOutOfDate, match="inbound migrate"):
            await require_current(engine)
    finally:
        await engine.dispose()


async def test_migrations_go_down_and_up_again(engine: AsyncEngine) -> None:
    _, head = await revisions(engine)
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
    assert (await revisions(engine))[0] is None
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    assert (await revisions(engine))[0] == head
    await require_current(engine)


async def test_timestamps_come_back_in_utc(engine: AsyncEngine, rules: CompiledRules) -> None:
    await process_message(session_factory(engine), rules, message("yes"))
    async with session_factory(engine)() as session:
        stored = await session.scalar(select(Message))
    assert stored is not None
    assert stored.received_at == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert stored.received_at.utcoffset() is not None


async def test_processing_the_same_message_concurrently_stores_it_once(
    engine: AsyncEngine, rules: CompiledRules
) -> None:
    sessions = session_factory(engine)
    results = await asyncio.gather(
        *(process_message(sessions, rules, message("yes")) for _ in range(5))
    )
    statuses = sorted(result.status for result in results)
    assert statuses.count(Status.PROCESSED) == 1
    assert statuses.count(Status.DUPLICATE) == 4
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1
        assert await session.scalar(select(func.count()).select_from(Outcome)) == 1


@pytest.mark.parametrize(
    ("text", "status", "table"),
    [
        ("yes", Status.PROCESSED, Outcome),
        ("Yes but can I change the time?", Status.REVIEW, ReviewItem),
        ("", Status.REVIEW, ReviewItem),
    ],
)
async def test_every_message_ends_in_exactly_one_place(
    engine: AsyncEngine,
    rules: CompiledRules,
    text: str,
    status: Status,
    table: type[Outcome] | type[ReviewItem],
) -> None:
    sessions = session_factory(engine)
    result = await process_message(sessions, rules, message(text))
    assert result.status == status
    async with sessions() as session:
        outcomes = await session.scalar(select(func.count()).select_from(Outcome))
        reviews = await session.scalar(select(func.count()).select_from(ReviewItem))
    assert (outcomes, reviews) == ((1, 0) if table is Outcome else (0, 1))
