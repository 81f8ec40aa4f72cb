"""One delivered callback costs the action worker two statements on the actions table: the
claim, which also loads what the attempt needs, and the record of the attempt, each committing
as it runs, without a BEGIN and a COMMIT round trip around it (issue 14: three ORM transactions
per callback were most of the worker's time). Real RabbitMQ, SQLite and PostgreSQL, and a real
callback receiver."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import Connection, event, update
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from inbound.actions.backoff import RetryPolicy
from inbound.states import ActionState
from inbound.store.database import session_factory
from inbound.store.models import Action
from tests.integration.action_support import start_action_workers
from tests.integration.test_action_claim import due_callback, load, receiver
from tests.support.waiting import eventually

POLICY = RetryPolicy(delays=(0.2,), max_attempts=4, max_age=timedelta(hours=1))
ACTIONS = re.compile(r"\bactions\b", re.IGNORECASE)
TRANSACTION = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)


async def test_a_delivered_callback_takes_two_statements_on_the_actions_table(
    engine: AsyncEngine, amqp_url: str, namespace: str
) -> None:
    sessions = session_factory(engine)
    statements: list[str] = []
    autocommitted: list[bool] = []

    def seen(
        conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        statements.append(statement)
        level = conn.get_execution_options().get("isolation_level")
        autocommitted.append(level == "AUTOCOMMIT")

    async with receiver() as service, AsyncExitStack() as stack:
        action, key = await due_callback(sessions, service.url)
        with capture_logs() as logs:
            queue = await start_action_workers(
                stack, amqp_url, namespace, engine, POLICY, callback_timeout=5.0
            )
            event.listen(engine.sync_engine, "before_cursor_execute", seen)
            try:
                # As the outbox queues it: the message names the action's service.
                await queue.due([action], {action: "alpha"})
                # The worker logs the delivery once the record's transaction has committed.
                await eventually(
                    lambda: _delivered(logs),
                    lambda done: done,
                    within=20,
                )
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", seen)
        row = await load(sessions, action)
    on_actions = [s for s in statements if ACTIONS.search(s) and not TRANSACTION.match(s)]
    in_transactions = [s for s, alone in zip(statements, autocommitted, strict=True) if not alone]
    others = [s for s in statements if not ACTIONS.search(s) and not TRANSACTION.match(s)]
    print(f"\n{len(on_actions)} on actions: " + " | ".join(_short(s) for s in on_actions))
    print(f"{len(others)} others: " + " | ".join(_short(s) for s in others))
    print(f"{len(in_transactions)} not autocommitted: " + " | ".join(map(_short, in_transactions)))
    assert service.posts == {key: 1}
    assert row.state == ActionState.DELIVERED
    assert row.attempts == 1
    assert row.first_attempt_at is not None
    assert row.finished_at is not None
    assert row.claimed_until is None
    assert len(on_actions) <= 2
    assert not others  # nothing else is read or written for a delivery
    assert not in_transactions  # each statement commits by itself: no BEGIN or COMMIT round trip


async def _delivered(logs: list[dict[str, Any]]) -> bool:
    return await _logged(logs, "action_delivered")


def _short(statement: str) -> str:
    return " ".join(statement.split())[:60]


async def test_an_attempt_whose_claim_was_taken_over_records_nothing(
    engine: AsyncEngine, amqp_url: str, namespace: str
) -> None:
    """The record is conditional on the claim: if the claim lapsed while the POST was under way
    and another worker took the action, the late attempt leaves the row to that worker."""
    sessions = session_factory(engine)
    taken_over = datetime.now(UTC) + timedelta(minutes=5)

    async def take_over(request: web.Request) -> web.Response:
        await request.read()
        # Another worker's claim replaces this one while the POST is under way.
        async with sessions.begin() as session:
            await session.execute(
                update(Action).where(Action.id == action).values(claimed_until=taken_over)
            )
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/outcomes", take_over)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        action, _ = await due_callback(sessions, str(server.make_url("/outcomes")))
        async with AsyncExitStack() as stack:
            with capture_logs() as logs:
                queue = await start_action_workers(
                    stack, amqp_url, namespace, engine, POLICY, callback_timeout=5.0
                )
                await queue.due([action], {action: "alpha"})
                await eventually(lambda: _logged(logs, "action_claim_lost"), bool, within=20)
        row = await load(sessions, action)
    finally:
        await server.close()
    print(
        f"\nafter the lost claim: {row.state}, {row.attempts} attempts, until {row.claimed_until}"
    )
    assert row.state == ActionState.PENDING
    assert row.attempts == 0
    assert row.claimed_until == taken_over
    assert not any(line["event"] == "action_delivered" for line in logs)


async def _logged(logs: list[dict[str, Any]], name: str) -> bool:
    return any(line["event"] == name for line in logs)
