"""The action worker: delivers callbacks and replies, retrying through delay queues."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

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
from inbound.actions.attempts import (
    CLAIM_MARGIN,
    Attempt,
    after_attempt,
    claim_until,
    may_claim,
)
from inbound.actions.backoff import RetryPolicy
from inbound.actions.event import headers
from inbound.actions.queue import ActionQueue, action_id
from inbound.actions.sender import OutboundSender, SendFailed
from inbound.broker.consumer import Consumer, Settle
from inbound.broker.publisher import PublishFailed
from inbound.broker.topology import BrokerNames, declare_actions
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.states import ActionKind, ActionState
from inbound.store.actions import Actions
from inbound.store.messages import Messages
from inbound.store.models import Action

log = get_logger("actions")


class ActionWorker:
    """Consumes due actions; a slow or failing service only ever holds its own few slots."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        sessions: async_sessionmaker[AsyncSession],
        queue: ActionQueue,
        *,
        http: aiohttp.ClientSession,
        sender: OutboundSender,
        secret_for: Callable[[str], str | None],
        policy: RetryPolicy,
        callback_timeout: float,
        prefetch: int = 32,
        per_service: int = 4,
        metrics: Metrics | None = None,
        shutdown_timeout: float = 10.0,
        claim_margin: float = CLAIM_MARGIN,
    ) -> None:
        self._connection = connection
        self._names = names
        self._sessions = sessions
        self._http = http
        self._sender = sender
        self._secret_for = secret_for
        self._policy = policy
        self._callback_timeout = callback_timeout
        self._claim_margin = claim_margin
        self._prefetch = prefetch
        self._per_service = per_service
        self._busy: defaultdict[str, int] = defaultdict(int)
        self._free: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        # Deliveries held waiting for their service's turn: up to half the prefetch, so one busy
        # service can't take every slot from the others; beyond that they come back later.
        self._waiting = 0
        self._metrics = metrics or Metrics.create()
        self._queue = queue  # for retries: an action goes to the delay queue of its next try
        self._consumer = Consumer(
            connection,
            self._declare,
            self._handle,
            name="actions",
            prefetch=prefetch,
            shutdown_timeout=shutdown_timeout,
        )

    async def start(self) -> None:
        """Start consuming due actions."""
        await self._consumer.start()

    async def stop(self) -> None:
        """Take no new actions, let those in flight finish (within the shutdown timeout), then
        close the channel: unacked actions return to the queue."""
        await self._consumer.stop()

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        topology = await declare_actions(channel, self._names, list(self._policy.delays))
        return topology.actions

    async def _handle(self, incoming: AbstractIncomingMessage) -> Settle:
        found = action_id(incoming.body)
        if found is None:
            log.error("undecodable_action")
            return Settle.DEAD_LETTER
        try:
            async with self._sessions() as session:
                row = await session.get(Action, found)
            if row is None or row.state != ActionState.PENDING:
                return Settle.ACK  # done already, or not ours
            if not may_claim(row.state, row.claimed_until, datetime.now(UTC)):
                return self._claimed_elsewhere(row)
            if not await self._turn(row.service_id):
                # This service already has its share in flight and enough waiting: come back
                # later rather than hold a prefetch slot another service's action could use.
                await self._queue.later(row.id, min(self._policy.delays))
                return Settle.ACK
            try:
                # Claim it before sending: of two copies of this action handled at once (a
                # redelivery and the sweep's hand-over, say), only one may send it.
                claim = await self._claim(row.id)
                if claim is None:
                    return self._claimed_elsewhere(row)
                attempt = await self._attempt(row)
            finally:
                self._busy[row.service_id] -= 1
                self._free[row.service_id].set()
            result = "delivered" if attempt.ok else "failed"
            self._metrics.action_attempts.labels(row.kind, result).inc()
            await self._record(row.id, attempt, claim)
        except (SQLAlchemyError, OSError, PublishFailed) as error:
            log.error("action_failed_will_retry", action=found, error=type(error).__name__)
            return Settle.RETRY
        return Settle.ACK

    def _claimed_elsewhere(self, row: Action) -> Settle:
        # Another copy of this action is being sent: its holder records the attempt (and
        # queues any retry), or, if it died, the sweep hands the action over once the claim
        # lapses. This copy is done with.
        log.info("action_claimed_elsewhere", action=row.id, kind=row.kind)
        return Settle.ACK

    async def _claim(self, action: int) -> datetime | None:
        """Claim the action for one attempt; the claim's end, or None when another worker holds
        it (or it is no longer pending). The claim outlasts the send's timeout by a margin,
        so a worker that dies holding it holds it up only that long."""
        now = datetime.now(UTC)
        until = claim_until(now, self._callback_timeout, self._claim_margin)
        async with self._sessions.begin() as session:
            won = await Actions(session).claim(action, now=now, until=until)
        return until if won else None

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
        if row.kind == ActionKind.CALLBACK:
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

    async def _record(self, action: int, attempt: Attempt, claim: datetime) -> None:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await Actions(session).lock(action)
            if row is None or row.state != ActionState.PENDING:
                return
            if row.claimed_until == claim:
                row.claimed_until = None  # let go: the next attempt's copy may claim it
            row.attempts += 1
            row.first_attempt_at = row.first_attempt_at or now
            kind, attempts = row.kind, row.attempts
            after = after_attempt(
                attempt,
                kind=kind,
                attempts=attempts,
                first_attempt_at=row.first_attempt_at,
                now=now,
                policy=self._policy,
            )
            row.state, row.last_error = after.state, after.error
            if after.state is not ActionState.PENDING:
                row.finished_at = now
            if after.review_reason is not None:
                await Messages(session).flag_for_review(
                    row.message_id, row.service_id, after.review_reason
                )
        # Every failure's line says why (`attempts.error_reason`: no number, body or secret).
        if after.review_reason is not None:
            log.warning(
                "action_gave_up", action=action, kind=kind, attempts=attempts, reason=after.error
            )
        elif after.state is ActionState.DELIVERED:
            log.info("action_delivered", action=action, kind=kind, attempts=attempts)
        if after.retry_in is not None:
            log.info(
                "action_retry_scheduled",
                action=action,
                kind=kind,
                attempts=attempts,
                delay=after.retry_in,
                reason=after.error,
            )
            await self._queue.later(action, after.retry_in)
