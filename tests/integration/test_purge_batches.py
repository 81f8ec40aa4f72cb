"""The first purge of a large old database, on real SQLite and PostgreSQL: it clears thousands
of expired messages' content in many short transactions (never one long one), leaves content
inside retention alone, and on PostgreSQL only one process purges at a time: another one,
finding the lock held, skips its round and says so."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Text, cast, func, insert, select, text
from structlog.testing import capture_logs

from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.states import ActionKind, ActionState, PartGroupState, ReviewState
from inbound.store.database import create_engine, session_factory
from inbound.store.models import (
    Action,
    Message,
    MessagePart,
    Outcome,
    PartGroup,
    ReviewItem,
)
from inbound.store.retention import PURGE_LOCK_KEY, Purged
from inbound.worker.retention import purge_expired, purge_once
from tests.conftest import EXAMPLE_RULES
from tests.support.process import inbound

OLD, FRESH, PARTS = 5000, 200, 1500  # expired messages, messages inside retention, stray parts
BATCH = 1000
# Batches the purge must take: texts, captures (every other message), payloads, parts.
EXPECTED_BATCHES = -(-OLD // BATCH) + -(-OLD // 2 // BATCH) + -(-OLD // BATCH) + -(-PARTS // BATCH)


def _rows(count: int, days_ago: float, first_id: int) -> dict[str, list[dict[str, Any]]]:
    """`count` appointments messages accepted `days_ago`, each with a delivered callback;
    every other one with an outcome (and its captures), the rest with a review item."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    rows: dict[str, list[dict[str, Any]]] = {"messages": [], "outcomes": [], "review": []}
    rows["actions"] = []
    for n in range(first_id, first_id + count):
        rows["messages"].append(
            {
                "id": n,
                "provider": "generic",
                "provider_message_id": f"m-{n}",
                "sender": "+447700900123",
                "recipient": "+447700900000",
                "text": f"REPORT broken gate {n}",
                "service_id": "appointments",
                "status": "processed" if n % 2 else "review",
                "received_at": when,
                "accepted_at": when,
                "stored_at": when,
            }
        )
        if n % 2:
            rows["outcomes"].append(
                {
                    "message_id": n,
                    "service_id": "appointments",
                    "action": "report",
                    "rule": "report",
                    "captures": {"details": f"broken gate {n}"},
                    "created_at": when,
                }
            )
        else:
            rows["review"].append(
                {
                    "message_id": n,
                    "service_id": "appointments",
                    "reason": "a person decides",
                    "rule": None,
                    "state": ReviewState.OPEN,
                    "created_at": when,
                }
            )
        rows["actions"].append(
            {
                "message_id": n,
                "service_id": "appointments",
                "kind": ActionKind.CALLBACK,
                "idempotency_key": f"appointments:{n}:callback:report",
                "recipient": None,
                "payload": {"url": "https://surgery.example/", "event": {"text": f"gate {n}"}},
                "state": ActionState.DELIVERED,
                "attempts": 1,
                "created_at": when,
            }
        )
    return rows


async def _store(database_url: str) -> None:
    """OLD expired messages and FRESH recent ones, and PARTS stray old parts, in bulk."""
    engine = create_engine(database_url)
    try:
        old, fresh = _rows(OLD, 10, 1), _rows(FRESH, 1, OLD + 1)
        ten_days_ago = datetime.now(UTC) - timedelta(days=10)
        async with session_factory(engine).begin() as session:
            for model, key in (
                (Message, "messages"),
                (Outcome, "outcomes"),
                (ReviewItem, "review"),
                (Action, "actions"),
            ):
                for rows in (old[key], fresh[key]):
                    if rows:
                        await session.execute(insert(model), rows)
            groups = [
                {
                    "id": n,
                    "provider": "generic",
                    "sender": "+447700900123",
                    "recipient": "+447700900000",
                    "reference": f"r{n}",
                    "total": 2,
                    "state": PartGroupState.EXPIRED,
                    "first_seen_at": ten_days_ago,
                    "message_id": None,
                }
                for n in range(1, PARTS + 1)
            ]
            await session.execute(insert(PartGroup), groups)
            parts = [
                {
                    "group_id": n,
                    "provider": "generic",
                    "provider_message_id": f"p-{n}",
                    "number": 1,
                    "text": "first half",
                    "received_at": ten_days_ago,
                    "accepted_at": ten_days_ago,
                }
                for n in range(1, PARTS + 1)
            ]
            await session.execute(insert(MessagePart), parts)
    finally:
        await engine.dispose()


async def _left(database_url: str) -> dict[str, int]:
    """How much content is left, and the row counts (which a purge never changes)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:

            async def count(query: Any) -> int:
                return int(await session.scalar(query) or 0)

            return {
                "texts": await count(select(func.count()).where(Message.text.is_not(None))),
                "part_texts": await count(
                    select(func.count()).where(MessagePart.text.is_not(None))
                ),
                "captures": await _count_json(session, Outcome.captures),
                "payloads": await _count_json(session, Action.payload),
                "messages": await count(select(func.count()).select_from(Message)),
                "outcomes": await count(select(func.count()).select_from(Outcome)),
                "review_items": await count(select(func.count()).select_from(ReviewItem)),
                "actions": await count(select(func.count()).select_from(Action)),
                "parts": await count(select(func.count()).select_from(MessagePart)),
            }
    finally:
        await engine.dispose()


async def _count_json(session: Any, column: Any) -> int:
    found = await session.scalar(select(func.count()).where(cast(column, Text) != "{}"))
    return int(found or 0)


async def _fresh_texts(database_url: str) -> list[str | None]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            found = await session.scalars(
                select(Message.text).where(Message.id > OLD).order_by(Message.id)
            )
            return list(found)
    finally:
        await engine.dispose()


@pytest.fixture
def big_history(database_url: str) -> str:
    """The test's database with OLD + FRESH messages and PARTS stray parts."""
    asyncio.run(_store(database_url))
    return database_url


def _env(database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    return {**clean, "INBOUND_DATABASE_URL": database_url, "INBOUND_RULES_DIR": str(EXAMPLE_RULES)}


def test_a_large_first_purge_runs_in_batches_and_keeps_what_is_inside_retention(
    big_history: str,
) -> None:
    before = asyncio.run(_left(big_history))
    assert before["texts"] == OLD + FRESH
    assert before["part_texts"] == PARTS

    result = inbound(_env(big_history), "purge", "--batch-size", str(BATCH), timeout=300)

    assert result.returncode == 0, result.stderr
    assert f"purged the text of {OLD} messages and {PARTS} message parts" in result.stdout
    assert f"the captures of {OLD // 2} outcomes and the payloads of {OLD} finished" in (
        result.stdout
    )
    assert f"in {EXPECTED_BATCHES} batches of at most {BATCH}" in result.stdout
    after = asyncio.run(_left(big_history))
    # Content past retention is gone; inside retention it stays.
    assert after["texts"] == FRESH
    assert after["part_texts"] == 0
    assert after["captures"] == FRESH // 2
    assert after["payloads"] == FRESH
    assert asyncio.run(_fresh_texts(big_history)) == [
        f"REPORT broken gate {n}" for n in range(OLD + 1, OLD + FRESH + 1)
    ]
    # No row is deleted: messages, outcomes, review items, actions and parts all stay.
    for table in ("messages", "outcomes", "review_items", "actions", "parts"):
        assert after[table] == before[table], table


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_each_batch_is_its_own_transaction_on_postgresql(big_history: str) -> None:
    """Seen by PostgreSQL itself: the purged messages were written by OLD / BATCH transactions
    (each row's xmin is the transaction that last wrote it)."""
    result = inbound(_env(big_history), "purge", "--batch-size", str(BATCH), timeout=300)
    assert result.returncode == 0, result.stderr

    async def writers() -> int:
        engine = create_engine(big_history)
        try:
            async with engine.connect() as connection:
                found = await connection.scalar(
                    text("SELECT count(DISTINCT xmin::text) FROM messages WHERE text IS NULL")
                )
                return int(found or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(writers()) == OLD // BATCH


async def _purge_while_another_runs(database_url: str) -> tuple[Purged, str]:
    """Purge in this process; at its first batch, with the lock held, run `inbound purge`."""
    engine = create_engine(database_url)
    rules = CompiledRules(load_directory(EXAMPLE_RULES))
    second: list[str] = []

    def at_each_batch(totals: Purged) -> None:
        if not second:  # this blocks the loop, the lock stays held on its connection
            other = inbound(_env(database_url), "purge", timeout=120)
            assert other.returncode == 0, other.stderr
            second.append(other.stdout)

    try:
        first = await purge_once(
            session_factory(engine), rules, batch_size=BATCH, progress=at_each_batch
        )
    finally:
        await engine.dispose()
    return first, second[0]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_purges_at_once_one_runs_and_the_other_skips(big_history: str) -> None:
    first, second = asyncio.run(_purge_while_another_runs(big_history))

    assert "another process is purging this database now; nothing done" in second
    assert not first.skipped
    assert (first.messages, first.outcomes, first.actions, first.parts) == (
        OLD,
        OLD // 2,
        OLD,
        PARTS,
    )
    assert first.batches == EXPECTED_BATCHES
    assert asyncio.run(_left(big_history))["texts"] == FRESH


async def _worker_round_while_locked(database_url: str) -> tuple[list[dict[str, Any]], int]:
    """The worker's periodic purge while another connection holds the purge lock."""
    engine = create_engine(database_url)
    rules = CompiledRules(load_directory(EXAMPLE_RULES))
    try:
        async with engine.connect() as holder:
            held = await holder.scalar(
                text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": PURGE_LOCK_KEY}
            )
            assert held
            with capture_logs() as logs:
                await purge_expired(session_factory(engine), rules)
            texts = await holder.scalar(
                select(func.count()).select_from(Message).where(Message.text.is_not(None))
            )
            await holder.rollback()  # closing the connection releases the lock
        return logs, int(texts or 0)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_finding_the_purge_lock_held_skips_its_round_and_logs_it(
    big_history: str,
) -> None:
    logs, texts = asyncio.run(_worker_round_while_locked(big_history))

    assert [line["event"] for line in logs] == ["purge_skipped"]
    assert texts == OLD + FRESH  # nothing purged

    async def next_round() -> list[dict[str, Any]]:
        engine = create_engine(big_history)
        try:
            with capture_logs() as logs:
                await purge_expired(
                    session_factory(engine), CompiledRules(load_directory(EXAMPLE_RULES))
                )
            return logs
        finally:
            await engine.dispose()

    done = asyncio.run(next_round())
    assert done[-1]["event"] == "content_purged"
    assert done[-1]["messages"] == OLD
    assert done[-1]["batches"] == EXPECTED_BATCHES
