"""Deliveries stranded by a reconnect: the rules worker holds prefetched messages whose
transactions can't finish (PostgreSQL stalled through a proxy) when its RabbitMQ connection is
cut (a second proxy; the shared RabbitMQ keeps running). It reconnects and RabbitMQ redelivers
the messages. The old deliveries are never acked (their channel is gone), their transactions
still commit, and each message is stored once, with one outcome.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from inbound.config import Settings
from inbound.outcome import Status
from inbound.store.database import create_engine, session_factory
from tests.integration.conftest import Answer, Stack, running_stack
from tests.integration.reliability_support import (
    amqp_through,
    counts,
    message,
    pg_settings,
    pg_url,
    proxied,
    publisher,
    queue_depth,
    stored_ids,
)
from tests.integration.test_actions import ALPHA, CALLBACK_SECRET, rules_dir
from tests.support.fake_service import FakeService, fake_service
from tests.support.waiting import eventually

__all__ = ["pg_settings", "pg_url"]  # fixtures

COUNT = 20


@pytest.fixture
async def direct(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test database that bypass the proxy, to look while the stack's stalls."""
    engine = create_engine(pg_url)
    yield session_factory(engine)
    await engine.dispose()


async def readyz(stack: Stack) -> Answer:
    return await stack.request("GET", "/readyz", b"", {})


def broker_ready(answer: Answer) -> bool:
    checks: dict[str, bool] = answer.json()["checks"]
    return checks["broker"]


def events(
    logs: Sequence[MutableMapping[str, Any]], name: str, **fields: object
) -> list[MutableMapping[str, Any]]:
    return [
        entry
        for entry in logs
        if entry["event"] == name and all(entry.get(k) == v for k, v in fields.items())
    ]


async def test_deliveries_prefetched_before_a_reconnect_are_redelivered_and_processed_once(
    pg_settings: Settings, direct: async_sessionmaker[AsyncSession]
) -> None:
    received = f"{pg_settings.amqp_namespace}.received"

    async def ready_in_queue() -> int:
        return await queue_depth(pg_settings.amqp_url, received)

    async def acked() -> int:
        # Handled deliveries, less those whose ack failed.
        failed = events(logs, "settle_failed_will_redeliver")
        return len(events(logs, "message_processed")) - len(failed)

    async with (
        proxied(pg_settings.amqp_url, 5672) as (broker, _),
        proxied(pg_settings.database_url, 5432) as (database, database_url),
    ):
        changed = {
            "amqp_url": amqp_through(pg_settings.amqp_url, broker),
            "database_url": database_url,
            "prefetch": COUNT,  # the worker holds every message at once
        }
        with capture_logs() as logs:
            async with running_stack(pg_settings.model_copy(update=changed)) as stack:
                await eventually(lambda: readyz(stack), lambda a: a.status == 200)
                # Transactions hang from here on: whatever the worker takes, it holds unacked.
                database.stall()
                async with publisher(pg_settings.amqp_url, pg_settings.amqp_namespace) as out:
                    for n in range(COUNT):
                        await out.publish(message(f"stranded-{n}"))
                # None ready in the queue: all are prefetched by the worker, none acked.
                await eventually(ready_in_queue, lambda n: n == 0)
                await broker.cut()
                # RabbitMQ takes the unacknowledged deliveries back when the connection drops.
                await eventually(ready_in_queue, lambda n: n == COUNT)
                during = await eventually(lambda: readyz(stack), lambda a: not broker_ready(a))
                await broker.restore()
                after = await eventually(lambda: readyz(stack), broker_ready, within=30)
                # Reconnected and consuming again: the redelivered copies are prefetched too,
                # while the old deliveries' transactions still wait on the database.
                await eventually(ready_in_queue, lambda n: n == 0)
                database.resume()
                found = await eventually(
                    lambda: counts(direct), lambda c: c["outcomes"] == COUNT, within=60
                )
                # Every redelivered copy is handled (as a duplicate of what the old delivery's
                # transaction stored, or stored by it if it got there first) and acked.
                await eventually(acked, lambda n: n >= COUNT)
                await eventually(lambda: readyz(stack), lambda a: a.status == 200)
        # The stack has closed its channels: anything left unacknowledged would be back now.
        left = await ready_in_queue()
    ids = await stored_ids(direct)
    assert during.status == 503
    assert after.json()["checks"]["broker"] is True
    assert sorted(ids) == sorted(f"stranded-{n}" for n in range(COUNT))  # each stored once
    assert found["outcomes"] == COUNT  # one outcome each (the example rules confirm "yes")
    assert found["reviews"] == 0
    assert left == 0  # the queue drained
    # Exactly COUNT deliveries were settled, the redelivered copies: an old delivery's handler is
    # cancelled with its channel (aiormq cancels a closed channel's consumer tasks) or, had it got
    # as far as its ack, the ack failed and was logged. An old delivery tag acked on the new
    # channel, where it names another delivery, would break this count.
    assert await acked() == COUNT
    statuses = {entry["status"] for entry in events(logs, "message_processed")}
    assert statuses <= {Status.PROCESSED, Status.DUPLICATE}
    duplicates = len(events(logs, "message_processed", status=Status.DUPLICATE))
    print(
        f"\nbroker cut with {COUNT} prefetched and uncommitted: {COUNT} requeued and redelivered "
        f"({duplicates} found already stored), stored {len(ids)}, outcomes {found['outcomes']}"
    )


async def test_callbacks_keep_flowing_after_a_broker_reconnect(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action worker's consumer comes back with the connection (it once did not: a queue
    fetched with get_queue is not restored by the robust channel, and no callback went out)."""
    monkeypatch.setenv("INBOUND_TEST_CALLBACK_SECRET", CALLBACK_SECRET)
    async with fake_service([200]) as service, proxied(pg_settings.amqp_url, 5672) as (broker, _):
        changed = {
            "amqp_url": amqp_through(pg_settings.amqp_url, broker),
            "rules_dir": rules_dir(tmp_path, [("alpha", ALPHA, service.url)]),
        }
        async with (
            running_stack(pg_settings.model_copy(update=changed)) as stack,
            publisher(pg_settings.amqp_url, pg_settings.amqp_namespace) as out,
        ):
            await out.publish(message("before-cut", text="cancel", to=ALPHA))
            await eventually(lambda: _received(service), lambda n: n == 1)
            await broker.cut()
            await eventually(lambda: readyz(stack), lambda a: not broker_ready(a))
            await broker.restore()
            await eventually(lambda: readyz(stack), broker_ready, within=30)
            await out.publish(message("after-cut", text="cancel", to=ALPHA))
            await eventually(lambda: _received(service), lambda n: n == 2, within=30)
    events_seen = [request.json()["message"]["id"] for request in service.received]
    assert events_seen == ["before-cut", "after-cut"]


async def _received(service: FakeService) -> int:
    return len(service.received)
