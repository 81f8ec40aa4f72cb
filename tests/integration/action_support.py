"""Action workers for the action worker's own tests, started on an exit stack."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import aio_pika
import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.actions.action_worker import ActionWorker
from inbound.actions.backoff import RetryPolicy
from inbound.actions.queue import ActionQueue
from inbound.actions.sender import LogSender
from inbound.broker.topology import BrokerNames
from inbound.store.database import session_factory


async def start_action_workers(
    stack: AsyncExitStack,
    amqp_url: str,
    namespace: str,
    engine: AsyncEngine,
    policy: RetryPolicy,
    *,
    count: int = 1,
    **options: Any,
) -> ActionQueue:
    """`count` action workers, each on its own connection (as separate processes are), stopped
    by `stack`; returns a queue to publish actions with. `options` go to each ActionWorker."""
    names = BrokerNames(namespace)
    sessions = session_factory(engine)
    http = await stack.enter_async_context(aiohttp.ClientSession())
    queue: ActionQueue | None = None
    for _ in range(count):
        connection = await aio_pika.connect_robust(amqp_url)
        stack.push_async_callback(connection.close)
        if queue is None:
            queue = await ActionQueue.open(connection, names, list(policy.delays), within=5)
            stack.push_async_callback(queue.close)
        worker = ActionWorker(
            connection,
            names,
            sessions,
            queue,
            http=http,
            sender=LogSender(),
            secret_for=lambda _: None,
            policy=policy,
            **options,
        )
        await worker.start()
        stack.push_async_callback(worker.stop)
    assert queue is not None
    return queue
