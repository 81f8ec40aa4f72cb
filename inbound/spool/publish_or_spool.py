"""Making an accepted message durable: RabbitMQ's confirm within a bound, else the spool table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.broker.publisher import Publisher, PublishFailed
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.spool.breaker import Breaker, Route
from inbound.store.spool import Spool

log = get_logger("spool")

# Every webhook is answered within this many seconds, well under the ~15 s after which Twilio
# gives up for good, with room for the nonce check (`receiver/replay.py`) before it. What RabbitMQ's
# confirm doesn't use, the spool write may: a 503 loses the message for a provider that never
# retries, so a slow database is waited for as long as the provider's patience allows. With the
# write bounded by INBOUND_SPOOL_AFTER alone, a loaded 2-core machine answered 503 when SQLite
# took over a second to commit.
ANSWER_WITHIN = 12.0


# The least a spool write is given inside a shorter budget (`budget`): SQLite on a loaded
# 2-core machine took over a second to commit.
SPOOL_WRITE_AT_LEAST = 1.5


def spool_write_bound(spool_after: float) -> float:
    """Seconds a spool write may take after `spool_after` seconds spent waiting for RabbitMQ."""
    return ANSWER_WITHIN - spool_after


def _forget(pending: set[asyncio.Future[None]]) -> Callable[[asyncio.Future[None]], None]:
    def done(task: asyncio.Future[None]) -> None:
        pending.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the webhook was already answered 503 for it

    return done


@dataclass(frozen=True)
class Budget:
    """How a provider that waits less than ANSWER_WITHIN for its answer splits what it gives."""

    broker: float  # seconds waiting for RabbitMQ's confirm
    spool: float  # then seconds for the spool write


def budget(answer_within: float, spool_after: float) -> Budget:
    """A provider's `answer_within` split: RabbitMQ's confirm gets INBOUND_SPOOL_AFTER, or less
    so the spool write keeps SPOOL_WRITE_AT_LEAST; the write gets the rest."""
    broker = max(min(spool_after, answer_within - SPOOL_WRITE_AT_LEAST), 0.1)
    return Budget(broker, max(answer_within - broker, 0.1))


class PublishOrSpool:
    """Publishes a message confirmed, or writes it to the spool; fails only when both fail.

    The publisher's own bound (`INBOUND_SPOOL_AFTER`) decides how long a webhook waits for
    RabbitMQ; the spool write has `write_within` more (`spool_write_bound`). Both stay well under
    the ~15 s after which providers such as Twilio give up for good; a provider that waits less
    has its own `Budget` for both. After a failed publish,
    webhooks go straight to the spool for a few seconds (spool/breaker.py) rather than each
    waiting that bound again.
    """

    def __init__(
        self,
        publisher: Publisher | None,
        sessions: async_sessionmaker[AsyncSession],
        write_within: float,
        on_spooled: Callable[[], None] | None = None,
        budgets: Mapping[str, Budget] | None = None,
    ) -> None:
        # None: a process that started while RabbitMQ was unreachable; every message is spooled
        # until `attach` gives it the publisher.
        self._publisher = publisher
        self._sessions = sessions
        self._write_within = write_within
        self._on_spooled = on_spooled
        # By provider name, for those answered sooner than ANSWER_WITHIN (GOV.UK Notify's 5 s).
        self._budgets = dict(budgets or {})
        self._breaker = Breaker()
        self._clock = time.monotonic
        # Spool writes given up on whose clean-up is still running (`_spool_by`).
        self._abandoned: set[asyncio.Future[None]] = set()

    def attach(self, publisher: Publisher) -> None:
        """Publish with `publisher` from now on (opened once RabbitMQ answered)."""
        self._publisher = publisher

    def broker_confirmed(self) -> None:
        """RabbitMQ confirmed something (the relay's publish): webhooks try it again at once."""
        self._breaker.published()

    async def publish(self, message: InboundMessage) -> None:
        """Return once the message is durable; PublishFailed when neither store took it."""
        short = self._budgets.get(message.provider)
        route = Route.SPOOL if self._publisher is None else self._breaker.route(self._clock())
        if self._publisher is None:
            reason = "not connected to RabbitMQ yet"
        elif route is Route.SPOOL:
            reason = "RabbitMQ failed a publish moments ago"
        else:
            try:
                await self._publisher.publish(message, short.broker if short else None)
            except PublishFailed as failure:
                reason = str(failure)
                self._breaker.failed(self._clock())
            except BaseException:
                if route is Route.TRIAL:  # cancelled: the next webhook tests it instead
                    self._breaker.trial_abandoned()
                raise
            else:
                self._breaker.published()
                return
        try:
            if short is None:
                async with asyncio.timeout(self._write_within):
                    await self._spool(message)
            else:
                await self._spool_by(message, short.spool)
        except IntegrityError:
            pass  # the same message spooled by a concurrent retry: durable either way
        except (TimeoutError, SQLAlchemyError, OSError) as error:
            log.error(
                "spool_write_failed", message=message.key, broker=reason, error=type(error).__name__
            )
            raise PublishFailed(
                f"{reason}, and the spool write failed ({type(error).__name__})"
            ) from error
        log.warning("message_spooled", message=message.key, broker=reason)
        if self._on_spooled is not None:
            self._on_spooled()

    async def _spool(self, message: InboundMessage) -> None:
        async with self._sessions.begin() as session:
            await Spool(session).add(message)

    async def _spool_by(self, message: InboundMessage, within: float) -> None:
        """The spool write, given up after `within` seconds even when its clean-up is what hangs.

        Cancelled inside asyncio.timeout, a write on a stalled PostgreSQL connection still awaited
        its rollback: 1.5 s became 3.5 s, past Notify's 5 s answer. Its clean-up is left to finish
        on its own (kept referenced until then); if the write did commit after all, the provider's
        retry of our 503 is a duplicate the worker's dedupe absorbs.
        """
        task = asyncio.ensure_future(self._spool(message))
        try:
            done, _ = await asyncio.wait({task}, timeout=within)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            task.result()
            return
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(_forget(self._abandoned))
        raise TimeoutError
