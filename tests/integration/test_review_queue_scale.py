"""The queue stays a keyset walk at 100,000 items: no OFFSET, the page after any cursor is right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from inbound.store.database import create_engine, session_factory
from inbound.store.models import Message, ReviewItem
from inbound.store.review import PAGE_SIZE, QueueFilter, ReviewQueue
from inbound.store.users import Scope

ITEMS = 100_000


async def test_keyset_pages_stay_correct_and_offset_free_at_100k_items(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        async with session_factory(engine).begin() as session:
            await session.execute(
                insert(Message),
                [
                    {
                        "id": n,
                        "provider": "generic",
                        "provider_message_id": f"bulk-{n}",
                        "sender": "+447700900123",
                        "recipient": "+447700900001",
                        "text": f"message {n}",
                        "service_id": "alpha" if n % 10 else "beta",
                        "status": "review",
                        "received_at": start,
                        "accepted_at": start,
                        "stored_at": start,
                    }
                    for n in range(1, ITEMS + 1)
                ],
            )
            await session.execute(
                insert(ReviewItem),
                [
                    {
                        "id": n,
                        "message_id": n,
                        "service_id": "alpha" if n % 10 else "beta",
                        "reason": "bulk",
                        "state": "open",
                        # Many items share a timestamp: the id breaks the tie.
                        "created_at": start + timedelta(seconds=n // 3),
                    }
                    for n in range(1, ITEMS + 1)
                ],
            )
        scope = Scope(1, "case@alpha.example", {"alpha": "caseworker"}, False)
        async with session_factory(engine)() as session:
            queue = ReviewQueue(session)
            first = await queue.page(scope, QueueFilter())
            assert [row.item.id for row in first.rows][:3] == [1, 2, 3]
            assert len(first.rows) == PAGE_SIZE
            assert first.counts["open"] == ITEMS - ITEMS // 10
            # Deep in the table: the cursor of item 90,001 (alpha) gives the next alpha items.
            deep = await session.get(ReviewItem, 90_001)
            assert deep is not None
            page = await queue.page(scope, QueueFilter(after=(deep.created_at, deep.id)))
            expected = [n for n in range(90_002, 90_002 + 60) if n % 10][:PAGE_SIZE]
            assert [row.item.id for row in page.rows] == expected
            assert all(row.item.service_id == "alpha" for row in page.rows)
            if engine.dialect.name == "postgresql":
                await session.execute(text("ANALYZE review_items"))
                statement = (
                    select(ReviewItem.id)
                    .where(ReviewItem.service_id.in_(["alpha"]), ReviewItem.state == "open")
                    .order_by(ReviewItem.created_at, ReviewItem.id)
                    .limit(PAGE_SIZE + 1)
                )
                compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
                plan = "\n".join(
                    row[0] for row in await session.execute(text(f"EXPLAIN {compiled}"))
                )
                assert "Index" in plan, plan
                assert "OFFSET" not in str(compiled).upper()
    finally:
        await engine.dispose()
