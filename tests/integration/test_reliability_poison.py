"""Poison messages dead-letter into review without holding up the rest; a database outage is
waited out without acking anything uncommitted.

The poison is real: a message that decodes but that PostgreSQL refuses every time (a NUL in its
text, which the receiver refuses at the door but an older receiver or another publisher could
send). The outage is real too: PostgreSQL cut through a TCP proxy.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import aio_pika
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import Message, ReviewItem
from tests.integration.conftest import running_stack
from tests.integration.reliability_support import (
    counts,
    message,
    pg_settings,
    pg_url,
    proxied,
    publisher,
    queue_depth,
    stored_ids,
)
from tests.support.waiting import eventually

__all__ = ["pg_settings", "pg_url"]  # fixtures


async def test_poison_message_ends_in_review_and_1000_behind_it_are_processed(
    pg_settings: Settings,
) -> None:
    async with running_stack(pg_settings) as stack:
        async with publisher(pg_settings.amqp_url, pg_settings.amqp_namespace) as publish:
            await publish.publish(message("poison-1", text="yes\x00please"))
            for n in range(1000):
                await publish.publish(message(f"good-{n}"))
        found = await eventually(
            lambda: counts(stack.sessions), lambda c: c["messages"] == 1001, within=90
        )
        async with stack.sessions() as session:
            poison = await session.scalar(
                select(Message).where(Message.provider_message_id == "poison-1")
            )
            assert poison is not None
            review = await session.scalar(
                select(ReviewItem).where(ReviewItem.message_id == poison.id)
            )
        assert poison.text == "yes\ufffdplease"  # kept, with what PostgreSQL can't hold replaced
        assert review is not None
        assert "delivery limit reached" in review.reason
        assert "invalid byte sequence" in review.reason  # the error PostgreSQL gave
        assert found["outcomes"] == 1000
        assert found["reviews"] == 1
        assert len(set(await stored_ids(stack.sessions))) == 1001
        await eventually(
            lambda: queue_depth(pg_settings.amqp_url, f"{pg_settings.amqp_namespace}.dead"),
            lambda n: n == 0,
        )
    print(f"\npoison: 1 message to review ({review.reason[:80]}…); 1000 good ones processed")


async def test_undecodable_message_is_kept_for_review_not_dropped(pg_settings: Settings) -> None:
    body = b'{"not": "an inbound message"}\n+447700900123'
    async with running_stack(pg_settings) as stack:
        connection = await aio_pika.connect(pg_settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=f"{pg_settings.amqp_namespace}.received",
            )
        await eventually(lambda: counts(stack.sessions), lambda c: c["reviews"] == 1)
        async with stack.sessions() as session:
            kept = (await session.scalars(select(Message))).one()
            review = (await session.scalars(select(ReviewItem))).one()
    assert kept.provider == "dead-letter"
    assert kept.provider_message_id == hashlib.sha256(body).hexdigest()
    assert kept.text == body.decode()
    assert review.reason.startswith("undecodable message (rejected)")


async def test_database_outage_is_waited_out_and_nothing_is_acked_uncommitted(
    pg_settings: Settings,
) -> None:
    async with proxied(pg_settings.database_url, 5432) as (db_proxy, db_url):
        changed = {"database_url": db_url}
        async with running_stack(pg_settings.model_copy(update=changed)) as stack:
            await db_proxy.cut()
            async with publisher(pg_settings.amqp_url, pg_settings.amqp_namespace) as publish:
                for n in range(50):
                    await publish.publish(message(f"outage-{n}"))
            await asyncio.sleep(8)  # several back-offs: longer than the delivery limit's worth
            await db_proxy.restore()
            await eventually(
                lambda: counts(stack.sessions), lambda c: c["outcomes"] == 50, within=60
            )
            found = await counts(stack.sessions)
            ids = await stored_ids(stack.sessions)
    assert found["reviews"] == 0  # waited out: not mistaken for poison and dead-lettered
    assert sorted(ids) == sorted(f"outage-{n}" for n in range(50))


async def test_work_resumes_within_seconds_of_a_long_database_outage_ending(
    pg_settings: Settings,
) -> None:
    """A 20 s outage: the worker probes while it waits and resumes on the first answer, rather
    than sleeping out a back-off that has grown with the outage (11 s late before)."""
    async with proxied(pg_settings.database_url, 5432) as (db_proxy, db_url):
        changed = {"database_url": db_url}
        async with running_stack(pg_settings.model_copy(update=changed)) as stack:
            await db_proxy.cut()
            async with publisher(pg_settings.amqp_url, pg_settings.amqp_namespace) as publish:
                for n in range(20):
                    await publish.publish(message(f"long-outage-{n}"))
            await asyncio.sleep(20)
            await db_proxy.restore()
            restored = time.monotonic()
            await eventually(
                lambda: counts(stack.sessions), lambda c: c["outcomes"] == 20, within=60
            )
            resumed_after = time.monotonic() - restored
    print(f"\ndatabase back: all 20 processed {resumed_after:.1f} s later")
    assert resumed_after < 5.0
