"""The action worker: delivers callbacks and replies, retrying through delay queues."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions import callback
from inbound.actions.backoff import RetryPolicy, is_retryable
from inbound.actions.event import headers
from inbound.actions.queue import ActionQueue, action_id
from inbound.actions.sender import OutboundSender, SendFailed
from inbound.broker.inflight import InFlight
from inbound.broker.publisher import PublishFailed
from inbound.broker.settle import settle
from inbound.broker.topology import BrokerNames, declare_actions
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.store.actions import DELIVERED, FAILED, PENDING, Actions
from inbound.store.messages import Messages
from inbound.store.models import Action

log = get_logger("actions")

# Actions left unpublished this long (the worker stopped between commit and publish) are re-sent.
SWEEP_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class Attempt:
    """One try at delivering an action: None status means no answer at all."""

    ok: bool
    status: int | None
    error: str | None = None


class ActionWorker:
    """Consumes due actions; a slow or failing service only ever holds its own few slots."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        sessions: async_sessionmaker[AsyncSession],
        *,
        http: aiohttp.ClientSession,
        sender: OutboundSender,
        secret_for: Callable[[str], str | None],
        policy: RetryPolicy,
        callback_timeout: float,
        prefetch: int = 32,
        per_service: int = 4,
        sweep_interval: float = 5.0,
        metrics: Metrics | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self._connection = connection
        self._names = names
        self._sessions = sessions
        self._http = http
        self._sender = sender
        self._secret_for = secret_for
        self._policy = policy
        self._callback_timeout = callback_timeout
        self._prefetch = prefetch
        self._per_service = per_service
        self._busy: defaultdict[str, int] = defaultdict(int)
        self._free: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        # Deliveries held waiting for their service's turn: up to half the prefetch, so one busy
        # service can't take every slot from the others; beyond that they come back later.
        self._waiting = 0
        self._sweep_interval = sweep_interval
        self._metrics = metrics or Metrics.create()
        self._channel: AbstractChannel | None = None
        self._queue: ActionQueue | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._in_flight = InFlight()
        self._shutdown_timeout = shutdown_timeout
        self._consumer: tuple[AbstractQueue, str] | None = None

    async def start(self) -> None:
        """Declare the action queues and start consuming and sweeping."""
        self._queue = await ActionQueue.open(
            self._connection, self._names, list(self._policy.delays), within=5.0
        )
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=self._prefetch)
        # Declared on this channel (not fetched with get_queue): a robust channel restores only
        # the queues it declared, so a fetched one lost its consumer at the first reconnect.
        topology = await declare_actions(self._channel, self._names, list(self._policy.delays))
        queue = topology.actions
        self._consumer = (queue, await queue.consume(self._on_message))
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        """Take no new actions, let those in flight finish (within the shutdown timeout), then
        close the channel: unacked actions return to the queue."""
        if self._consumer is not None:
            queue, tag = self._consumer
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                async with asyncio.timeout(5):
                    await queue.cancel(tag)
        await self._in_flight.drained(self._shutdown_timeout)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        if self._queue is not None:
            await self._queue.close()

    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        with self._in_flight.track():
            await self._handle(incoming)

    async def _handle(self, incoming: AbstractIncomingMessage) -> None:
        assert self._queue is not None
        found = action_id(incoming.body)
        if found is None:
            log.error("undecodable_action")
            await settle(incoming, ack=False)
            return
        try:
            async with self._sessions() as session:
                row = await session.get(Action, found)
            if row is None or row.state != PENDING:
                await settle(incoming, ack=True)  # done already, or not ours
                return
            if not await self._turn(row.service_id):
                # This service already has its share in flight and enough waiting: come back
                # later rather than hold a prefetch slot another service's action could use.
                await self._queue.later(row.id, min(self._policy.delays))
                await settle(incoming, ack=True)
                return
            try:
                attempt = await self._attempt(row)
            finally:
                self._busy[row.service_id] -= 1
                self._free[row.service_id].set()
            result = "delivered" if attempt.ok else "failed"
            self._metrics.action_attempts.labels(row.kind, result).inc()
            await self._record(row.id, attempt)
        except (SQLAlchemyError, OSError, PublishFailed) as error:
            log.error("action_failed_will_retry", action=found, error=type(error).__name__)
            await asyncio.sleep(1.0)
            await settle(incoming, ack=False, requeue=True)
            return
        await settle(incoming, ack=True)

    async def _turn(self, service_id: str) -> bool:
        """Take one of the service's in-flight places, waiting for one if few others wait;
        False when the caller should send the action round again instead."""
        while self._busy[service_id] >= self._per_service:
            if self._waiting >= self._prefetch // 2:
                return False
            free = self._free[service_id]
            free.clear()
            self._waiting += 1
            try:
                await free.wait()
            finally:
                self._waiting -= 1
        self._busy[service_id] += 1
        return True

    async def _attempt(self, row: Action) -> Attempt:
        if row.kind == "callback":
            body = json.dumps(row.payload["event"], separators=(",", ":")).encode()
            secret_env = row.payload.get("secret_env")
            secret = self._secret_for(secret_env) if secret_env else None
            sent = headers(secret, int(time.time()), body, row.idempotency_key)
            try:
                status = await callback.post(
                    self._http, row.payload["url"], body, sent, self._callback_timeout
                )
            except callback.CallbackFailed as error:
                return Attempt(False, error.status, str(error))
            return Attempt(True, status)
        assert row.recipient is not None
        try:
            await self._sender.send(row.recipient, row.payload["text"], row.idempotency_key)
        except SendFailed as error:
            return Attempt(False, error.status, str(error))
        return Attempt(True, None)

    async def _record(self, action: int, attempt: Attempt) -> None:
        assert self._queue is not None
        now = datetime.now(UTC)
        retry_in: float | None = None
        async with self._sessions.begin() as session:
            row = await Actions(session).lock(action)
            if row is None or row.state != PENDING:
                return
            row.attempts += 1
            row.first_attempt_at = row.first_attempt_at or now
            if attempt.ok:
                row.state, row.finished_at, row.last_error = DELIVERED, now, None
                log.info("action_delivered", action=row.id, kind=row.kind, attempts=row.attempts)
                return
            row.last_error = (attempt.error or "failed")[:500]
            gave_up = not is_retryable(attempt.status) or self._policy.exhausted(
                row.attempts, row.first_attempt_at, now
            )
            if gave_up:
                row.state, row.finished_at = FAILED, now
                reason = f"{row.kind} failed: {row.last_error} after {row.attempts} attempts"
                await Messages(session).flag_for_review(row.message_id, row.service_id, reason)
                log.warning("action_gave_up", action=row.id, kind=row.kind, attempts=row.attempts)
            else:
                retry_in = self._policy.delay_after(row.attempts)
        if retry_in is not None:
            log.info("action_retry_scheduled", action=action, delay=retry_in)
            await self._queue.later(action, retry_in)

    async def _sweep(self) -> None:
        assert self._queue is not None
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                async with self._sessions.begin() as session:
                    repo = Actions(session)
                    ids = await repo.unpublished(datetime.now(UTC) - SWEEP_AFTER)
                    if ids:
                        await self._queue.due(ids)
                        await repo.mark_published(ids)
                        log.warning("actions_republished", count=len(ids))
            except (SQLAlchemyError, OSError, PublishFailed) as error:
                log.error("action_sweep_failed", error=type(error).__name__)
