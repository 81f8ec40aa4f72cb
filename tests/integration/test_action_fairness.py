"""One service's hanging callback endpoint, or its flood of messages, doesn't hold up another
service's callbacks (issue 14). A real `inbound run`, RabbitMQ, SQLite or PostgreSQL, and a real
callback receiver, through `bench/fairness.py` (the figure `make bench` quotes).

The figures go to the output (`pytest -s`); the assertions give the latency of the service that
is not at fault a generous absolute floor besides the ratio, so a tiny baseline on a busy
machine can't make them flaky.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inbound.actions.backoff import RetryPolicy
from inbound.actions.event import IDEMPOTENCY_HEADER
from inbound.actions.queue import ActionQueue
from inbound.states import ActionKind
from inbound.store.actions import Actions
from inbound.store.database import session_factory
from inbound.store.models import Message
from tests.conftest import ROOT
from tests.integration.action_support import start_action_workers
from tests.support.waiting import eventually

# B's p99 with A at fault may be up to twice its p99 without the fault, plus this much.
FLOOR_MS = 750.0


def _fairness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fairness", ROOT / "bench" / "fairness.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fairness = _fairness()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """None: a fresh SQLite file per case; or the PostgreSQL server (a fresh database each)."""
    if request.param == "sqlite":
        return None
    server: str = request.getfixturevalue("postgres_server_url")
    return server


def _show(title: str, results: dict[str, Any]) -> None:
    print(f"\n{title}: B's callbacks, decided → received (ms)")
    for case, figures in results.items():
        if case != "settings":
            print(f"  {case:<9} {json.dumps(figures)}")


async def test_a_hanging_endpoint_does_not_hold_up_another_service(
    amqp_url: str, database: str | None
) -> None:
    results = await fairness.measure_async(
        amqp_url,
        database,
        seconds=5.0,
        rate=20.0,
        callback_timeout=2.0,
        cases=("quiet", "a_hangs"),
    )
    _show("A's endpoint hangs", results)
    quiet, hangs = results["quiet"], results["a_hangs"]
    assert quiet["b_missing"] == hangs["b_missing"] == 0
    assert hangs["a_posts"] > 0  # A's endpoint really was tried, and hung
    assert hangs["b_p99_ms"] <= 2 * quiet["b_p99_ms"] + FLOOR_MS, results


async def test_a_flood_from_one_service_keeps_another_bounded(
    amqp_url: str, postgres_server_url: str
) -> None:
    # On PostgreSQL: on SQLite, the rules worker's back-to-back batches of the flood take the
    # database's one write lock from the action worker's writes, whatever service they are for
    # (see docs/callbacks.md), so the flood measures SQLite's writer, not the action worker.
    results = await fairness.measure_async(
        amqp_url,
        postgres_server_url,
        seconds=5.0,
        rate=20.0,
        flood=600,
        callback_timeout=2.0,
        cases=("quiet", "a_floods"),
    )
    _show("A floods (PostgreSQL)", results)
    quiet, flood = results["quiet"], results["a_floods"]
    assert quiet["b_missing"] == flood["b_missing"] == 0
    assert flood["a_posts"] > 0
    assert flood["b_p99_ms"] <= 2 * quiet["b_p99_ms"] + 4 * FLOOR_MS, results


# --- the per-service places, at the action worker itself ------------------------------------

POLICY = RetryPolicy(delays=(5.0,), max_attempts=50, max_age=timedelta(hours=1))
B_ANSWERS_AFTER = 0.3
BURST = 12  # B's callbacks due at once: more than its places (4), so some wait their turn


@dataclass
class Endpoints:
    """A's endpoint hangs past the callback timeout; B's answers after a moment and notes when
    each callback arrived."""

    url: str = ""
    a_in_flight: int = 0
    b_arrived: dict[str, float] = field(default_factory=dict)

    async def a(self, request: web.Request) -> web.Response:
        await request.read()
        self.a_in_flight += 1
        try:
            await asyncio.sleep(60)
        finally:
            self.a_in_flight -= 1
        return web.json_response({})

    async def b(self, request: web.Request) -> web.Response:
        await request.read()
        self.b_arrived.setdefault(request.headers[IDEMPOTENCY_HEADER], time.monotonic())
        await asyncio.sleep(B_ANSWERS_AFTER)
        return web.json_response({})


@asynccontextmanager
async def endpoints() -> AsyncIterator[Endpoints]:
    found = Endpoints()
    app = web.Application()
    app.router.add_post("/a", found.a)
    app.router.add_post("/b", found.b)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    found.url = str(server.make_url(""))
    try:
        yield found
    finally:
        await server.close()


async def due(
    sessions: async_sessionmaker[AsyncSession], service: str, url: str, count: int
) -> dict[int, str]:
    """`count` stored messages for a service, each with a pending callback: id → key."""
    now = datetime.now(UTC)
    made: dict[int, str] = {}
    async with sessions.begin() as session:
        for _ in range(count):
            key = f"{service}-{uuid.uuid4().hex}"
            message = Message(
                provider="generic",
                provider_message_id=key,
                sender="+447700900123",
                recipient="+447700900001",
                text="cancel",
                service_id=service,
                status="processed",
                received_at=now,
                accepted_at=now,
                stored_at=now,
            )
            session.add(message)
            await session.flush()
            row = await Actions(session).add(
                message_id=message.id,
                service_id=service,
                kind=ActionKind.CALLBACK,
                key=key,
                payload={"url": url, "event": {"id": key, "type": "outcome"}},
            )
            made[row.id] = key
    return made


async def b_burst(
    sessions: async_sessionmaker[AsyncSession], queue: ActionQueue, service: Endpoints
) -> list[float]:
    """B's burst, due at once: seconds from its publish to each POST arriving, sorted."""
    burst = await due(sessions, "b", service.url + "/b", BURST)
    published = time.monotonic()
    await queue.due(list(burst))
    arrived = await eventually(
        lambda: _arrivals(service, burst.values()), lambda found: len(found) == BURST, within=60
    )
    return sorted(at - published for at in arrived)


async def _arrivals(service: Endpoints, keys: Any) -> list[float]:
    return [service.b_arrived[key] for key in keys if key in service.b_arrived]


async def test_a_hanging_service_leaves_another_room_to_wait_its_turn(
    engine: AsyncEngine, amqp_url: str, namespace: str
) -> None:
    """B's burst is bigger than its places, so some of it waits for a turn. A's hanging
    endpoint must not take the room to wait: a delivery that finds none goes round a delay
    queue (5 s here), which is what B's p99 would show."""
    sessions = session_factory(engine)
    async with endpoints() as service, AsyncExitStack() as stack:
        queue = await _workers(stack, amqp_url, namespace, engine)
        quiet = await b_burst(sessions, queue, service)
        # A's endpoint hangs with all of A's places taken and plenty more of A's due.
        await queue.due(list(await due(sessions, "a", service.url + "/a", 60)))
        await eventually(lambda: _in_flight(service), lambda n: n == 4)
        hanging = await b_burst(sessions, queue, service)
    quiet_p99, hanging_p99 = quiet[-1] * 1000, hanging[-1] * 1000
    print(
        f"\nB's burst of {BURST}, publish → POST: quiet p50 {quiet[BURST // 2] * 1000:.0f} ms, "
        f"p99 {quiet_p99:.0f} ms; with A hanging p50 {hanging[BURST // 2] * 1000:.0f} ms, "
        f"p99 {hanging_p99:.0f} ms ({hanging_p99 / quiet_p99:.2f}×)"
    )
    assert hanging_p99 <= 2 * quiet_p99 + FLOOR_MS


async def _workers(
    stack: AsyncExitStack, amqp_url: str, namespace: str, engine: AsyncEngine
) -> ActionQueue:
    """Action workers with a 2 s callback timeout (A's hang ends sooner), and their queue."""
    return await start_action_workers(
        stack, amqp_url, namespace, engine, POLICY, callback_timeout=2.0, shutdown_timeout=2.0
    )


async def _in_flight(service: Endpoints) -> int:
    return service.a_in_flight


async def test_a_quick_service_gets_more_places_at_once(
    engine: AsyncEngine, amqp_url: str, namespace: str
) -> None:
    """Once B's endpoint is known to answer quickly (0.3 s), a burst of 12 goes out at once
    instead of four at a time: a service's own backlog (what the rules worker decided behind
    another service's flood) drains in one answer's time, not three."""
    sessions = session_factory(engine)
    async with endpoints() as service, AsyncExitStack() as stack:
        queue = await _workers(stack, amqp_url, namespace, engine)
        await b_burst(sessions, queue, service)  # B's pace becomes known: quick
        second = await b_burst(sessions, queue, service)
    spread = second[-1] - second[0]
    print(f"\nB's second burst of {BURST}: first to last POST {spread * 1000:.0f} ms")
    # Four places would send it in three waves, the last at least two answers after the first.
    assert spread < 0.8 * B_ANSWERS_AFTER
