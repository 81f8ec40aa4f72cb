"""The aio-pika adapter around process_message: ack only after the transaction commits."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions.plan import EffectPolicy
from inbound.actions.queue import ActionQueue
from inbound.broker.publisher import PublishFailed
from inbound.broker.settle import settle
from inbound.broker.topology import Names, declare
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.metrics import Metrics
from inbound.store.actions import Actions
from inbound.worker.process import (
    DEFAULT_POLICY,
    CompiledRules,
    Status,
    expire_overdue_parts,
    process_message,
)

log = get_logger("worker")

# Pause before handing a message back after a database failure, so a down database isn't
# hammered and the delivery limit isn't spent in a fraction of a second.
FAILURE_PAUSE = 1.0


class RulesWorker:
    """Consumes the received queue and processes each message once."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: Names,
        sessions: async_sessionmaker[AsyncSession],
        rules: CompiledRules,
        *,
        prefetch: int,
        delivery_limit: int,
        concurrency: int,
        multipart_timeout: float = 600.0,
        actions: ActionQueue | None = None,
        policy: EffectPolicy = DEFAULT_POLICY,
        metrics: Metrics | None = None,
    ) -> None:
        self._connection = connection
        self._names = names
        self._sessions = sessions
        self.rules = rules
        self._prefetch = prefetch
        self._delivery_limit = delivery_limit
        # SQLite allows one writer: more concurrent transactions would only queue on its lock.
        self._slots = asyncio.Semaphore(concurrency)
        self._channel: AbstractChannel | None = None
        self._multipart_timeout = multipart_timeout
        self._actions = actions
        self._policy = policy
        self._metrics = metrics or Metrics.create()
        self._expiry: asyncio.Task[None] | None = None
        self.processed = 0

    async def start(self) -> None:
        """Open a channel, declare the topology and start consuming."""
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=self._prefetch)
        topology = await declare(self._channel, self._names, self._delivery_limit)
        await topology.received.consume(self._on_message)
        self._expiry = asyncio.create_task(self._expire_overdue_parts())

    async def stop(self) -> None:
        """Stop consuming; unacked messages go back to the queue when the channel closes."""
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def _expire_overdue_parts(self) -> None:
        # Checking several times per timeout bounds how late an incomplete message reaches review.
        interval = min(self._multipart_timeout / 4, 30.0)
        while True:
            await asyncio.sleep(interval)
            cutoff = datetime.now(UTC) - timedelta(seconds=self._multipart_timeout)
            try:
                async with self._slots:
                    expired = await expire_overdue_parts(
                        self._sessions, self.rules, cutoff, self._policy
                    )
            except (SQLAlchemyError, OSError) as error:
                log.error("multipart_expiry_failed", error=type(error).__name__)
                continue
            if expired:
                log.info("multipart_expired_to_review", groups=expired)

    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        async with self._slots:
            await self._handle(incoming)

    async def _handle(self, incoming: AbstractIncomingMessage) -> None:
        try:
            message = InboundMessage.model_validate_json(incoming.body)
        except ValidationError as error:
            # Not something we published: dead-letter it (kept in the dead queue, not dropped).
            log.error(
                "undecodable_message", amqp_id=incoming.message_id, errors=error.error_count()
            )
            await settle(incoming, ack=False)
            return
        try:
            result = await process_message(self._sessions, self.rules, message, self._policy)
        except (SQLAlchemyError, OSError) as error:
            log.error("process_failed", message=message.key, error=type(error).__name__)
            await asyncio.sleep(FAILURE_PAUSE)
            await settle(incoming, ack=False, requeue=True)
            return
        log.info(
            "message_processed",
            message=message.key,
            status=result.status,
            service=result.service_id,
            action=result.decision.action if result.decision else None,
            rule=result.decision.rule if result.decision else None,
        )
        self._metrics.processed.labels(result.status.value).inc()
        if result.status is Status.PROCESSED and result.decision and result.decision.action:
            self._metrics.outcomes.labels(str(result.decision.action)).inc()
        if result.status in (Status.PROCESSED, Status.REVIEW):
            self.processed += 1
        if result.actions:
            await self._hand_over(result.actions)
        await settle(incoming, ack=True)

    async def _hand_over(self, ids: tuple[int, ...]) -> None:
        # The actions are already committed (an outbox): if this publish fails the action
        # worker's sweep publishes them later, so the message can still be acked.
        if self._actions is None:
            return
        try:
            await self._actions.due(ids)
            async with self._sessions.begin() as session:
                await Actions(session).mark_published(ids)
        except (PublishFailed, SQLAlchemyError, OSError) as error:
            log.warning("actions_left_for_sweep", count=len(ids), error=type(error).__name__)
