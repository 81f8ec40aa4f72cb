"""Two copies of one due action delivered at once send it once: the worker claims the action
before it sends (issue 14). Real RabbitMQ, SQLite and PostgreSQL, and a real callback receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from inbound.actions.backoff import RetryPolicy
from inbound.actions.event import IDEMPOTENCY_HEADER
from inbound.actions.outbox import Outbox
from inbound.actions.queue import ActionQueue
from inbound.states import ActionKind, ActionState
from inbound.store.actions import Actions
from inbound.store.database import session_factory
from inbound.store.models import Action, Message
from tests.integration.action_support import start_action_workers
from tests.support.waiting import eventually

POLICY = RetryPolicy(delays=(0.2,), max_attempts=4, max_age=timedelta(hours=1))
# The receiver holds each POST this long, so a second copy handled at the same moment overlaps.
ANSWER_AFTER = 0.5


@dataclass
class Receiver:
    """A service's callback endpoint that counts POSTs by idempotency key."""

    url: str = ""
    posts: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.posts[request.headers.get(IDEMPOTENCY_HEADER, "")] += 1
        await asyncio.sleep(ANSWER_AFTER)
        return web.json_response({"ok": True})


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/outcomes", found.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    found.url = str(server.make_url("/outcomes"))
    try:
        yield found
    finally:
        await server.close()


async def due_callback(sessions: async_sessionmaker[AsyncSession], url: str) -> tuple[int, str]:
    """A stored message and one pending callback for it; returns the action id and its key."""
    now = datetime.now(UTC)
    key = f"claim-{uuid.uuid4().hex}"
    async with sessions.begin() as session:
        message = Message(
            provider="generic",
            provider_message_id=key,
            sender="+447700900123",
            recipient="+447700900001",
            text="cancel",
            service_id="alpha",
            status="processed",
            received_at=now,
            accepted_at=now,
            stored_at=now,
        )
        session.add(message)
        await session.flush()
        row = await Actions(session).add(
            message_id=message.id,
            service_id="alpha",
            kind=ActionKind.CALLBACK,
            key=key,
            payload={"url": url, "event": {"id": key, "type": "outcome"}},
        )
        return row.id, key


async def load(sessions: async_sessionmaker[AsyncSession], action: int) -> Action:
    async with sessions() as session:
        found = await session.get(Action, action)
        assert found is not None
        return found


@asynccontextmanager
async def workers(
    stack: AsyncExitStack, amqp_url: str, namespace: str, engine: AsyncEngine, count: int
) -> AsyncIterator[ActionQueue]:
    """`count` action workers, each on its own connection (as separate processes are), and a
    queue to publish with."""
    yield await start_action_workers(
        stack,
        amqp_url,
        namespace,
        engine,
        POLICY,
        count=count,
        callback_timeout=5.0,
        claim_margin=1.0,
    )


def lost_claims(logs: list[dict[str, Any]]) -> int:
    return sum(line["event"] == "action_claimed_elsewhere" for line in logs)


@pytest.mark.parametrize("worker_count", [1, 2], ids=["one worker", "two workers"])
async def test_two_copies_of_a_due_action_post_once(
    engine: AsyncEngine, amqp_url: str, namespace: str, worker_count: int
) -> None:
    sessions = session_factory(engine)
    async with receiver() as service, AsyncExitStack() as stack:
        action, key = await due_callback(sessions, service.url)
        with capture_logs() as logs:
            async with workers(stack, amqp_url, namespace, engine, worker_count) as queue:
                # A redelivery and the sweep's re-publish, say: two copies due at the same time.
                await queue.due([action, action])
                # Both copies handled: the second POST, or the copy that found the action
                # claimed (it sends nothing).
                await eventually(
                    lambda: _settled(service, logs),
                    lambda done: done,
                    within=20,
                )
                row = await eventually(
                    lambda: load(sessions, action), lambda r: r.state == ActionState.DELIVERED
                )
    print(f"\nPOSTs by idempotency key: {dict(service.posts)}; claims lost: {lost_claims(logs)}")
    assert service.posts == {key: 1}
    assert row.attempts == 1
    assert row.claimed_until is None  # let go once recorded


async def _settled(service: Receiver, logs: list[dict[str, Any]]) -> bool:
    return sum(service.posts.values()) >= 2 or lost_claims(logs) >= 1


async def test_a_claim_left_by_a_crashed_worker_lapses_and_the_sweep_sends_it_once(
    engine: AsyncEngine, amqp_url: str, namespace: str
) -> None:
    sessions = session_factory(engine)
    async with receiver() as service, AsyncExitStack() as stack:
        action, key = await due_callback(sessions, service.url)
        # A worker claimed it and died before sending or recording anything.
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            assert await Actions(session).claim(action, now=now, until=now + timedelta(seconds=2))
        with capture_logs() as logs:
            async with workers(stack, amqp_url, namespace, engine, 1) as queue:
                # Its delivery comes back (RabbitMQ redelivers what a dead consumer held): the
                # claim still holds, so this copy sends nothing.
                await queue.due([action])
                await eventually(lambda: _lost(logs), lambda n: n == 1)
                assert sum(service.posts.values()) == 0
                # Once the claim has lapsed, the outbox sweep hands the action over again.
                outbox = Outbox(sessions, queue)
                await eventually(outbox.sweep, lambda _: sum(service.posts.values()) > 0, 20)
                row = await eventually(
                    lambda: load(sessions, action), lambda r: r.state == ActionState.DELIVERED
                )
                # Swept once only: the sweep let go of the dead claim as it handed it over.
                await outbox.sweep()
    assert service.posts == {key: 1}
    assert row.attempts == 1
    assert any(line["event"] == "actions_reclaimed" for line in logs)


async def _lost(logs: list[dict[str, Any]]) -> int:
    return lost_claims(logs)
