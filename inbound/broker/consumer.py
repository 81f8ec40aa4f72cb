"""One consumer lifecycle for every queue: start, stop, in-flight tracking, and the one place
that turns a handler's outcome into an ack, a requeue or a dead-letter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from enum import Enum

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from inbound.logs import get_logger

log = get_logger("broker")

# Bounds an ack on a channel that is being re-opened after a connection loss.
SETTLE_TIMEOUT = 5.0
# Bounds cancelling the consumer on a connection that may be gone.
CANCEL_TIMEOUT = 5.0
# Pause before handing a failed delivery back, so the delivery limit isn't spent in a fraction of
# a second.
RETRY_PAUSE = 1.0


class Settle(Enum):
    """What to do with a delivery once its handler is done."""

    ACK = "ack"  # done: committed, or nothing to do
    RETRY = "retry"  # hand it back after a pause; the delivery limit dead-letters a repeat
    DEAD_LETTER = "dead-letter"  # unreadable: reject without requeue (kept in the dead queue)
    LEAVE = "leave"  # stopping: leave it unacknowledged, redelivered once the channel closes


Handler = Callable[[AbstractIncomingMessage], Awaitable[Settle]]
Declare = Callable[[AbstractChannel], Awaitable[AbstractQueue]]


class InFlight:
    """How many deliveries a consumer is handling; `drained` waits for none, within a bound."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Count the enclosed handling as in flight."""
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def drained(self, within: float) -> bool:
        """Wait until nothing is in flight; False when `within` seconds weren't enough."""
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class Consumer:
    """Consumes one queue with a handler; the handler decides, this settles.

    `declare` declares the queue on the consumer's own channel: a robust channel restores only
    what it declared, so a queue fetched another way would lose its consumer at a reconnect.
    """

    def __init__(
        self,
        connection: AbstractRobustConnection,
        declare: Declare,
        handle: Handler,
        *,
        name: str,
        prefetch: int,
        shutdown_timeout: float,
        retry_pause: float = RETRY_PAUSE,
    ) -> None:
        self._connection = connection
        self._declare = declare
        self._handle = handle
        self.name = name
        self._prefetch = prefetch
        self._shutdown_timeout = shutdown_timeout
        self._retry_pause = retry_pause
        self._channel: AbstractChannel | None = None
        self._consuming: tuple[AbstractQueue, str] | None = None
        self._in_flight = InFlight()
        self.stopping = asyncio.Event()  # set once stop() begins; handlers' waits watch it

    async def start(self) -> None:
        """Open a channel, declare the queue and start consuming."""
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=self._prefetch)
        queue = await self._declare(self._channel)
        self._consuming = (queue, await queue.consume(self._deliver))

    async def stop(self, *, before_close: Callable[[], Awaitable[None]] | None = None) -> None:
        """Take no new deliveries, let those in flight finish (within the shutdown timeout), run
        `before_close`, then close the channel: whatever is unacknowledged goes back."""
        if self._consuming is not None:
            queue, tag = self._consuming
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                async with asyncio.timeout(CANCEL_TIMEOUT):
                    await queue.cancel(tag)
        self.stopping.set()
        if not await self._in_flight.drained(self._shutdown_timeout):
            log.warning("stopped_with_messages_in_flight", consumer=self.name)
        if before_close is not None:
            await before_close()
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def _deliver(self, incoming: AbstractIncomingMessage) -> None:
        with self._in_flight.track():
            try:
                outcome = await self._handle(incoming)
            except Exception as error:  # the handler's own failure: hand it back, never drop it
                log.error("delivery_failed_will_redeliver", consumer=self.name, error=_name(error))
                outcome = Settle.RETRY
            await self._settle(incoming, outcome)

    async def _settle(self, incoming: AbstractIncomingMessage, outcome: Settle) -> None:
        if outcome is Settle.LEAVE:
            return
        if outcome is Settle.RETRY:
            await asyncio.sleep(self._retry_pause)
        try:
            async with asyncio.timeout(SETTLE_TIMEOUT):
                if outcome is Settle.ACK:
                    await incoming.ack()
                else:
                    await incoming.nack(requeue=outcome is Settle.RETRY)
        except (TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError) as error:
            # A closed channel: RabbitMQ redelivers what it left unacknowledged, and processing
            # is idempotent.
            log.warning("settle_failed_will_redeliver", consumer=self.name, error=_name(error))


def _name(error: BaseException) -> str:
    # The exception's type only: its text can quote a message's values.
    return type(error).__name__
