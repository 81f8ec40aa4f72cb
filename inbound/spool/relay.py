"""The spool relay: publishes spooled messages once RabbitMQ is back, deleting after the confirm."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.broker.publisher import Publisher, PublishFailed
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.periodic import Periodic
from inbound.store.spool import Spool

log = get_logger("spool")


class SpoolRelay:
    """Drains the spool table into RabbitMQ; safe to run in every receiver process.

    Entries are locked while being published (other relays skip them) and deleted in the same
    transaction once confirmed; a crash in between only publishes one again, which the worker's
    dedupe absorbs.
    """

    def __init__(
        self,
        publisher: Publisher | None,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 2.0,
        batch: int = 100,
        on_confirmed: Callable[[], None] | None = None,
    ) -> None:
        self._publisher = publisher
        # Told when RabbitMQ confirms a relayed message: webhooks may stop skipping it.
        self._on_confirmed = on_confirmed
        self._sessions = sessions
        self._interval = interval
        self._batch = batch
        self._loop = Periodic("spool_relay", interval, self._step, at_start=True)

    def attach(self, publisher: Publisher) -> None:
        """Relay with `publisher` from now on (opened once RabbitMQ answered), starting now."""
        self._publisher = publisher
        self.wake()

    def wake(self) -> None:
        """Look at the spool soon (something was just written to it)."""
        self._loop.wake()

    async def start(self) -> None:
        """Start relaying in the background."""
        await self._loop.start()

    async def stop(self) -> None:
        """Stop relaying; whatever is still spooled waits for the next start."""
        await self._loop.stop()

    async def relay_once(self) -> int:
        """Publish one batch of spooled messages; return how many RabbitMQ confirmed."""
        publisher = self._publisher
        if publisher is None:
            return 0  # not connected to RabbitMQ yet: nothing to relay with
        async with self._sessions.begin() as session:
            spool = Spool(session)
            done: list[int] = []
            for entry in await spool.claim(self._batch):
                try:
                    message = InboundMessage.model_validate_json(entry.body)
                    await publisher.publish(message)
                except PublishFailed as error:
                    entry.attempts += 1
                    entry.last_error = str(error)[:500]
                    break  # the broker is still away: keep the order, try again later
                except ValidationError as error:  # not what we wrote: keep it for a person
                    entry.attempts += 1
                    entry.last_error = f"body does not decode: {error.error_count()} errors"
                    continue
                done.append(entry.id)
            await spool.remove(done)
        if done:
            log.info("spool_relayed", count=len(done))
            if self._on_confirmed is not None:
                self._on_confirmed()
        return len(done)

    async def _step(self) -> bool:
        # A full batch means more may be waiting: drain without a pause.
        return await self.relay_once() >= self._batch
