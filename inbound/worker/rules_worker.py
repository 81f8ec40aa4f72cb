"""The rules worker: consumes received messages, processes each once, acks after the commit."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import OrderedDict
from collections.abc import Container
from datetime import UTC, datetime, timedelta

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions.effects import EffectPolicy
from inbound.actions.outbox import Outbox
from inbound.broker.consumer import Consumer, Settle
from inbound.broker.topology import BrokerNames, declare
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.metrics import Metrics
from inbound.outcome import Status
from inbound.periodic import Periodic
from inbound.rules.compiled import RulesInForce
from inbound.store.outage import Stopping, through_outage
from inbound.worker.batch import Batcher, Stopped
from inbound.worker.process import (
    DEFAULT_POLICY,
    PromptsChanged,
    Result,
    expire_overdue_parts,
    process_batch,
    process_message,
)

log = get_logger("worker")

# INBOUND_TEST_FAULT values: the rules worker SIGKILLs itself there (tests only; off by default).
CRASH_BEFORE_COMMIT = "crash-before-commit"
CRASH_AFTER_COMMIT = "crash-after-commit"

# Failed messages remembered to be processed alone (oldest forgotten first).
MAX_SUSPECTS = 1024

# Batches' worth of deliveries the worker holds unacknowledged: what it can choose from when it
# takes each service's messages in turn. A flood from one service larger than this still
# queues in RabbitMQ ahead of other services' messages (docs/architecture.md, "Fairness").
CHOICE = 4


class RulesWorker:
    """Consumes the received queue and processes each message once; acks after the commit."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        sessions: async_sessionmaker[AsyncSession],
        rules: RulesInForce,
        outbox: Outbox,
        *,
        prefetch: int,
        delivery_limit: int,
        concurrency: int,
        multipart_timeout: float = 600.0,
        policy: EffectPolicy = DEFAULT_POLICY,
        metrics: Metrics | None = None,
        shutdown_timeout: float = 10.0,
        fault: str | None = None,
    ) -> None:
        self._names = names
        self._sessions = sessions
        self._rules = rules
        self._outbox = outbox
        self._delivery_limit = delivery_limit
        # SQLite allows one writer: more concurrent transactions would only queue on its lock.
        self._slots = asyncio.Semaphore(concurrency)
        # Deliveries that arrive while a transaction runs are written together in the next one,
        # a service at a time in turn, so one service's flood doesn't hold up another's
        # messages: the worker holds several batches' worth to choose from.
        self._batcher: Batcher[InboundMessage, Result] = Batcher(
            self._process_batch, max_size=prefetch, parallel=concurrency, key=self._service_of
        )
        # Messages that failed alone: their redeliveries are processed alone too, so a poison
        # message fails one batch (once per process), not one per delivery.
        self._suspects: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._multipart_timeout = multipart_timeout
        self._policy = policy
        self._metrics = metrics or Metrics.create()
        self._fault = fault
        self._consumer = Consumer(
            connection,
            self._declare,
            self._handle,
            name="rules",
            prefetch=prefetch * CHOICE,
            shutdown_timeout=shutdown_timeout,
        )
        # Checking several times per timeout bounds how late an incomplete message reaches review.
        self._expiry = Periodic(
            "multipart_expiry", min(multipart_timeout / 4, 30.0), self._expire_overdue_parts
        )
        self.processed = 0

    async def start(self) -> None:
        """Declare the topology and start consuming, and expiring overdue parts."""
        self._batcher.start()
        await self._consumer.start()
        await self._expiry.start()

    async def stop(self) -> None:
        """Take no new messages, let those in flight finish (within the shutdown timeout), then
        close the channel: whatever is still unacknowledged goes back to the queue."""
        await self._consumer.stop(before_close=self._batcher.stop)
        await self._expiry.stop()

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        return (await declare(channel, self._names, self._delivery_limit)).received

    def _service_of(self, message: InboundMessage) -> str:
        """Whose turn a message waits for in the batcher: the service that owns its number."""
        service = self._rules().service_for(message.recipient)
        return "" if service is None else service.service.id

    async def _expire_overdue_parts(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(seconds=self._multipart_timeout)
        async with self._slots:
            expired = await expire_overdue_parts(
                self._sessions, self._rules(), cutoff, self._policy
            )
        if expired:
            log.info("multipart_expired_to_review", groups=expired)

    async def _handle(self, incoming: AbstractIncomingMessage) -> Settle:
        try:
            message = InboundMessage.model_validate_json(incoming.body)
        except ValidationError as error:
            # Not something we published: dead-letter it (kept in the dead queue, not dropped).
            log.error(
                "undecodable_message", amqp_id=incoming.message_id, errors=error.error_count()
            )
            return Settle.DEAD_LETTER
        if self._fault == CRASH_BEFORE_COMMIT:
            os.kill(os.getpid(), signal.SIGKILL)  # test hook (INBOUND_TEST_FAULT)
        try:
            result = await self._batcher.submit(message)
        except (Stopping, Stopped):
            return Settle.LEAVE  # RabbitMQ redelivers it once the channel closes
        except Exception as error:  # any failure here is this message's own
            # The database answers, so the message itself fails: hand it back and let the
            # queue's delivery limit dead-letter it (the dead-letter consumer puts it in review).
            log.error("process_failed_will_redeliver", message=message.key, error=_name(error))
            return Settle.RETRY
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
        if result.status in (Status.PROCESSED, Status.REVIEW, Status.REPEAT):
            self.processed += 1
        return Settle.ACK

    async def _process_batch(self, messages: list[InboundMessage]) -> list[Result | BaseException]:
        """Write whole messages in one transaction (parts and repeats one by one), then hand
        their actions over; each message gets its result or the exception it failed with."""
        async with self._slots:
            together, alone = _split(messages, self._suspects)
            outs: dict[int, Result | BaseException] = {}
            if len(together) > 1:
                results = await self._process_together([messages[i] for i in together])
                if results is None:
                    alone = sorted(together + alone)
                else:
                    outs.update(zip(together, results, strict=True))
            else:
                alone = sorted(together + alone)
            for i in alone:
                outs[i] = await self._process_one(messages[i])
                if isinstance(outs[i], Exception) and not isinstance(outs[i], Stopping):
                    self._suspect(messages[i])
        if self._fault == CRASH_AFTER_COMMIT:
            os.kill(os.getpid(), signal.SIGKILL)  # test hook (INBOUND_TEST_FAULT)
        self._metrics.batch_messages.observe(len(messages))
        # The actions are committed (the outbox): a failed hand-over is the sweep's to finish,
        # so the messages are acked all the same.
        await self._outbox.hand_over(
            a for out in outs.values() if isinstance(out, Result) for a in out.actions
        )
        return [outs[i] for i in range(len(messages))]

    async def _process_together(
        self, messages: list[InboundMessage]
    ) -> list[Result | BaseException] | None:
        """One transaction for all, waiting out a database outage; None when it fails while the
        database answers (a bad message among them: the caller goes one by one to find it)."""
        try:
            return list(
                await through_outage(
                    lambda: process_batch(self._sessions, self._rules(), messages, self._policy),
                    self._sessions,
                    self._consumer.stopping,
                    messages=len(messages),
                )
            )
        except Stopping:
            return [Stopping() for _ in messages]  # left unacknowledged
        except (SQLAlchemyError, OSError, PromptsChanged) as error:
            log.info("batch_failed_one_by_one", size=len(messages), error=_name(error))
            return None

    async def _process_one(self, message: InboundMessage) -> Result | BaseException:
        """Process one message, waiting out a database outage while holding the delivery: an
        outage must neither ack uncommitted work nor spend the delivery limit."""
        try:
            return await through_outage(
                lambda: process_message(self._sessions, self._rules(), message, self._policy),
                self._sessions,
                self._consumer.stopping,
                message=message.key,
            )
        except Exception as error:  # handed to the message's own delivery to settle
            return error

    def _suspect(self, message: InboundMessage) -> None:
        self._suspects[(message.provider, message.provider_message_id)] = None
        while len(self._suspects) > MAX_SUSPECTS:
            self._suspects.popitem(last=False)


def _split(
    messages: list[InboundMessage], suspects: Container[tuple[str, str]]
) -> tuple[list[int], list[int]]:
    """Indexes of whole messages seen first in the batch, and of the rest (parts, repeats and
    messages that failed before)."""
    together: list[int] = []
    alone: list[int] = []
    seen: set[tuple[str, str]] = set()
    for i, message in enumerate(messages):
        key = (message.provider, message.provider_message_id)
        if message.part is None and key not in seen and key not in suspects:
            together.append(i)
            seen.add(key)
        else:
            alone.append(i)
    return together, alone


def _name(error: BaseException) -> str:
    # The exception's type only: its text can quote the message's values.
    return type(error).__name__
