"""The aio-pika adapter around process_message: ack only after the transaction commits."""

from __future__ import annotations

import asyncio
import contextlib
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
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions.plan import EffectPolicy
from inbound.actions.queue import ActionQueue
from inbound.broker.inflight import InFlight
from inbound.broker.publisher import PublishFailed
from inbound.broker.settle import settle
from inbound.broker.topology import BrokerNames, declare
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.metrics import Metrics
from inbound.rules.compiled import RulesInForce
from inbound.store.actions import Actions
from inbound.worker.batch import Batcher, Stopped
from inbound.worker.process import (
    DEFAULT_POLICY,
    Result,
    Status,
    expire_overdue_parts,
    process_batch,
    process_message,
)

log = get_logger("worker")

# Pause before handing a failed message back, so the delivery limit isn't spent in a fraction of
# a second; and the first pause while the database is unreachable, doubling up to MAX_PAUSE.
FAILURE_PAUSE = 1.0
MAX_PAUSE = 30.0

# INBOUND_TEST_FAULT values: the rules worker SIGKILLs itself there (tests only; off by default).
CRASH_BEFORE_COMMIT = "crash-before-commit"
CRASH_AFTER_COMMIT = "crash-after-commit"

# Failed messages remembered to be processed alone (oldest forgotten first).
MAX_SUSPECTS = 1024


class Stopping(Exception):
    """The worker is stopping while the database is away: leave the message unacknowledged."""


async def database_answers(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """True when the database runs a trivial query: tells an outage from a bad message."""
    try:
        async with asyncio.timeout(2), sessions() as session:
            await session.execute(text("SELECT 1"))
    except (TimeoutError, SQLAlchemyError, OSError):
        return False
    return True


class RulesWorker:
    """Consumes the received queue and processes each message once."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        sessions: async_sessionmaker[AsyncSession],
        rules: RulesInForce,
        *,
        prefetch: int,
        delivery_limit: int,
        concurrency: int,
        multipart_timeout: float = 600.0,
        actions: ActionQueue | None = None,
        policy: EffectPolicy = DEFAULT_POLICY,
        metrics: Metrics | None = None,
        shutdown_timeout: float = 10.0,
        fault: str | None = None,
    ) -> None:
        self._connection = connection
        self._names = names
        self._sessions = sessions
        self._rules = rules
        self._prefetch = prefetch
        self._delivery_limit = delivery_limit
        # SQLite allows one writer: more concurrent transactions would only queue on its lock.
        self._slots = asyncio.Semaphore(concurrency)
        # Deliveries that arrive while a transaction runs are written together in the next one.
        self._batcher: Batcher[InboundMessage, Result] = Batcher(
            self._process_batch, max_size=prefetch, parallel=concurrency
        )
        # Messages that failed alone: their redeliveries are processed alone too, so a poison
        # message fails one batch (once per process), not one per delivery.
        self._suspects: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._channel: AbstractChannel | None = None
        self._multipart_timeout = multipart_timeout
        self._actions = actions
        self._policy = policy
        self._metrics = metrics or Metrics.create()
        self._expiry: asyncio.Task[None] | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight = InFlight()
        self._stopping = asyncio.Event()
        self._shutdown_timeout = shutdown_timeout
        self._fault = fault
        self.processed = 0

    async def start(self) -> None:
        """Open a channel, declare the topology and start consuming."""
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=self._prefetch)
        topology = await declare(self._channel, self._names, self._delivery_limit)
        self._queue = topology.received
        self._batcher.start()
        self._consumer_tag = await topology.received.consume(self._on_message)
        self._expiry = asyncio.create_task(self._expire_overdue_parts())

    async def stop(self) -> None:
        """Take no new messages, let those in flight finish (within the shutdown timeout), then
        close the channel: whatever is still unacknowledged goes back to the queue."""
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                async with asyncio.timeout(5):
                    await self._queue.cancel(self._consumer_tag)
        self._stopping.set()
        if not await self._in_flight.drained(self._shutdown_timeout):
            log.warning("stopped_with_messages_in_flight", count=self._in_flight.count)
        await self._batcher.stop()
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
                        self._sessions, self._rules(), cutoff, self._policy
                    )
            except (SQLAlchemyError, OSError) as error:
                log.error("multipart_expiry_failed", error=type(error).__name__)
                continue
            if expired:
                log.info("multipart_expired_to_review", groups=expired)

    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        with self._in_flight.track():
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
        if self._fault == CRASH_BEFORE_COMMIT:
            os.kill(os.getpid(), signal.SIGKILL)  # test hook (INBOUND_TEST_FAULT)
        try:
            result = await self._batcher.submit(message)
        except (Stopping, Stopped):
            return  # unacknowledged: RabbitMQ redelivers it once the channel closes
        except Exception as error:  # any failure here is this message's own
            # The database answers, so the message itself fails: hand it back and let the
            # queue's delivery limit dead-letter it (the dead-letter consumer puts it in review).
            log.error("process_failed_will_redeliver", message=message.key, error=_name(error))
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
        await settle(incoming, ack=True)

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
        ids = [a for out in outs.values() if isinstance(out, Result) for a in out.actions]
        if ids:
            await self._hand_over(ids)
        return [outs[i] for i in range(len(messages))]

    async def _process_together(
        self, messages: list[InboundMessage]
    ) -> list[Result | BaseException] | None:
        """One transaction for all; None when it fails while the database answers (a bad
        message among them: the caller goes one by one to find it)."""
        pause = FAILURE_PAUSE
        while True:
            try:
                return list(
                    await process_batch(self._sessions, self._rules(), messages, self._policy)
                )
            except (SQLAlchemyError, OSError) as error:
                if await database_answers(self._sessions):
                    log.info("batch_failed_one_by_one", size=len(messages), error=_name(error))
                    return None
                log.warning(
                    "database_unavailable_waiting",
                    messages=len(messages),
                    error=_name(error),
                    retry_in=pause,
                )
            if await self._stopped_within(pause):
                return [Stopping() for _ in messages]  # left unacknowledged
            pause = min(pause * 2, MAX_PAUSE)

    async def _process_one(self, message: InboundMessage) -> Result | BaseException:
        try:
            return await self._process(message)
        except Exception as error:  # handed to the message's own delivery to settle
            return error

    def _suspect(self, message: InboundMessage) -> None:
        self._suspects[(message.provider, message.provider_message_id)] = None
        while len(self._suspects) > MAX_SUSPECTS:
            self._suspects.popitem(last=False)

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()

    async def _process(self, message: InboundMessage) -> Result:
        """Process the message, waiting out a database outage (with back-off) while holding the
        delivery: an outage must neither ack uncommitted work nor spend the delivery limit."""
        pause = FAILURE_PAUSE
        while True:
            try:
                return await process_message(self._sessions, self._rules(), message, self._policy)
            except (SQLAlchemyError, OSError) as error:
                if await database_answers(self._sessions):
                    raise  # the database is fine: this message is the problem
                log.warning(
                    "database_unavailable_waiting",
                    message=message.key,
                    error=type(error).__name__,
                    retry_in=pause,
                )
            if await self._stopped_within(pause):
                raise Stopping
            pause = min(pause * 2, MAX_PAUSE)

    async def _hand_over(self, ids: list[int]) -> None:
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
