"""The spool: RabbitMQ unreachable, stalled or refusing, and still never a 2xx that isn't durable.

The network is broken for real, with a TCP proxy between inbound and RabbitMQ (and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from inbound.config import Settings
from inbound.spool.publish_or_spool import ANSWER_WITHIN
from inbound.store.models import SpoolEntry
from tests.integration.conftest import Answer, Stack, running_stack
from tests.integration.reliability_support import (
    SENDER,
    SERVICE_NUMBER,
    amqp_through,
    counts,
    pg_url,
    proxied,
    stored_ids,
)
from tests.support.process import inbound
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

__all__ = ["pg_url"]  # a fixture


def payload(message_id: str) -> dict[str, str]:
    return {"id": message_id, "from": SENDER, "to": SERVICE_NUMBER, "text": "yes"}


@pytest.fixture
async def broker_proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    async with proxied(amqp_url, 5672) as (proxy, _):
        yield proxy


@pytest.fixture
async def proxied_stack(settings: Settings, broker_proxy: TcpProxy) -> AsyncIterator[Stack]:
    changed = {"amqp_url": amqp_through(settings.amqp_url, broker_proxy), "spool_after": 1.0}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        yield stack


async def spooled(stack: Stack) -> list[str]:
    from sqlalchemy import select

    async with stack.sessions() as session:
        return list((await session.scalars(select(SpoolEntry.provider_message_id))).all())


async def test_broker_cut_while_webhooks_stream_in_loses_nothing_and_duplicates_nothing(
    proxied_stack: Stack, broker_proxy: TcpProxy
) -> None:
    answers: dict[str, Answer] = {}

    async def stream(count: int) -> None:
        for n in range(count):
            message_id = f"stream-{n}-{uuid.uuid4().hex[:6]}"
            answers[message_id] = await proxied_stack.post_generic(payload(message_id))
            await asyncio.sleep(0.02)

    streaming = asyncio.create_task(stream(150))
    await asyncio.sleep(0.5)
    await broker_proxy.cut()  # RabbitMQ gone mid-stream: publishes fail, the worker loses it
    ready = await eventually(
        lambda: proxied_stack.request("GET", "/readyz", b"", {}), lambda a: a.status == 503, 5
    )
    await asyncio.sleep(3)
    await (
        broker_proxy.restore()
    )  # back: connections re-open, topology re-declared, consumers resume
    await streaming
    accepted = {mid for mid, answer in answers.items() if answer.status == 202}
    assert ready.status == 503
    assert ready.json()["checks"]["broker"] is False
    assert len(accepted) == 150, {a.status for a in answers.values()}  # the spool took the outage
    await eventually(lambda: stored_ids(proxied_stack.sessions), lambda ids: len(ids) >= 150, 60)
    await eventually(lambda: counts(proxied_stack.sessions), lambda c: c["spool"] == 0, 30)
    ids = await stored_ids(proxied_stack.sessions)
    assert sorted(ids) == sorted(accepted)  # none lost, none stored twice
    found = await counts(proxied_stack.sessions)
    assert found["outcomes"] + found["reviews"] == 150  # each ended in exactly one place
    ready = await eventually(
        lambda: proxied_stack.request("GET", "/readyz", b"", {}), lambda a: a.status == 200
    )
    print(f"\nbroker cut for 3 s under load: accepted 150, stored {len(ids)}, lost 0, duplicated 0")


async def test_confirm_timeout_answers_2xx_only_after_the_spool_write(
    proxied_stack: Stack, broker_proxy: TcpProxy
) -> None:
    broker_proxy.stall()  # connected, but no confirm ever comes back
    started = time.monotonic()
    answer = await proxied_stack.post_generic(payload("stalled-1"))
    took = time.monotonic() - started
    in_spool = await spooled(proxied_stack)  # checked while RabbitMQ is still stalled
    broker_proxy.resume()
    assert answer.status == 202
    assert 1.0 <= took < 5.0  # INBOUND_SPOOL_AFTER, far under Twilio's 15 s
    assert in_spool == ["stalled-1"]
    await proxied_stack.processed("stalled-1")
    await eventually(lambda: counts(proxied_stack.sessions), lambda c: c["spool"] == 0, 30)
    # The stalled publish may also arrive late; either way the message is stored once.
    await asyncio.sleep(1)
    assert await stored_ids(proxied_stack.sessions) == ["stalled-1"]


async def test_after_a_stalled_publish_webhooks_go_straight_to_the_spool(
    proxied_stack: Stack, broker_proxy: TcpProxy
) -> None:
    # Formerly every webhook waited INBOUND_SPOOL_AFTER for a confirm that wasn't coming, then
    # all of them wrote the spool at once: in a cluster failover under load some of those writes
    # overran their bound and were answered 503.
    broker_proxy.stall()
    ids = [f"breaker-{n}" for n in range(8)]
    took = []
    for message_id in ids:
        started = time.monotonic()
        answer = await proxied_stack.post_generic(payload(message_id))
        took.append(time.monotonic() - started)
        assert answer.status == 202
    broker_proxy.resume()
    print(f"\nstalled broker: webhook answer times {', '.join(f'{t:.2f}' for t in took)} s")
    assert took[0] >= 1.0  # the first waits INBOUND_SPOOL_AFTER
    assert max(took[1:]) < 0.8  # the rest skip the wait (old code: each >= 1 s)
    for message_id in ids:
        await proxied_stack.processed(message_id)
    await eventually(lambda: counts(proxied_stack.sessions), lambda c: c["spool"] == 0, 30)
    await asyncio.sleep(1)  # a late confirm of the first publish must not store it twice
    assert sorted(await stored_ids(proxied_stack.sessions)) == sorted(ids)


async def test_broker_nack_answers_2xx_only_after_the_spool_write(
    stack: Stack, settings: Settings
) -> None:
    # A real broker-side nack: a full queue with x-overflow=reject-publish bound to the same
    # routing key makes RabbitMQ nack every publish of an accepted message.
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        full = await channel.declare_queue(
            f"{settings.amqp_namespace}.full",
            arguments={"x-max-length": 1, "x-overflow": "reject-publish"},
        )
        await channel.default_exchange.publish(aio_pika.Message(b"filler"), full.name)
        await full.bind(settings.amqp_namespace, routing_key="message.received")
        answer = await stack.post_generic(payload("nacked-1"))
        assert answer.status == 202
        assert await spooled(stack) == ["nacked-1"]  # durable in the database before the 2xx
        entry = await eventually(lambda: _entry(stack), lambda e: e is not None and e.attempts >= 1)
        assert entry is not None
        assert "refused" in (entry.last_error or "")
        await full.delete(if_unused=False, if_empty=False)  # the broker takes messages again
    await stack.processed("nacked-1")
    await eventually(lambda: counts(stack.sessions), lambda c: c["spool"] == 0, 30)
    assert await stored_ids(stack.sessions) == ["nacked-1"]


async def _entry(stack: Stack) -> SpoolEntry | None:
    from sqlalchemy import select

    async with stack.sessions() as session:
        found: SpoolEntry | None = await session.scalar(select(SpoolEntry))
        return found


async def test_broker_and_database_both_down_is_503(
    settings: Settings, pg_url: str, broker_proxy: TcpProxy
) -> None:
    async with proxied(pg_url, 5432) as (db_proxy, db_url):
        changed = {
            "amqp_url": amqp_through(settings.amqp_url, broker_proxy),
            "database_url": db_url,
            "spool_after": 1.0,
        }
        async with running_stack(settings.model_copy(update=changed)) as stack:
            await broker_proxy.cut()
            await db_proxy.cut()
            started = time.monotonic()
            answer = await stack.post_generic(payload("both-down"))
            took = time.monotonic() - started
            await db_proxy.restore()
            await broker_proxy.restore()
            assert answer.status == 503
            assert answer.json()["error"]["code"] == "unavailable"
            assert took < ANSWER_WITHIN + 1  # the spool write's bound, then 503
            await asyncio.sleep(1)
            assert (await counts(stack.sessions))["spool"] == 0


def test_spool_status_shows_what_waits(env: dict[str, str]) -> None:
    assert inbound(env, "migrate").returncode == 0
    empty = inbound(env, "spool", "status")
    assert empty.returncode == 0, empty.stderr
    assert "spool is empty" in empty.stdout

    async def add() -> None:
        from datetime import UTC, datetime

        from inbound.store.database import create_engine, session_factory
        from inbound.store.spool import Spool
        from tests.integration.reliability_support import message

        engine = create_engine(env["INBOUND_DATABASE_URL"])
        async with session_factory(engine).begin() as session:
            await Spool(session).add(message("waiting-1"))
            await Spool(session).add(message("waiting-2"))
        await engine.dispose()
        assert datetime.now(UTC)

    asyncio.run(add())
    shown = inbound(env, "spool", "status")
    assert "waiting   2 messages" in shown.stdout
    as_json = json.loads(inbound(env, "spool", "status", "--json").stdout)
    assert as_json["waiting"] == 2
    assert as_json["oldest_seconds"] >= 0
