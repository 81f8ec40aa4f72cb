"""Making an accepted message durable: RabbitMQ's confirm within a bound, else the spool table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

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


def spool_write_bound(spool_after: float) -> float:
    """Seconds a spool write may take after `spool_after` seconds spent waiting for RabbitMQ."""
    return ANSWER_WITHIN - spool_after


class PublishOrSpool:
    """Publishes a message confirmed, or writes it to the spool; fails only when both fail.

    The publisher's own bound (`INBOUND_SPOOL_AFTER`) decides how long a webhook waits for
    RabbitMQ; the spool write has `write_within` more (`spool_write_bound`). Both stay well under
    the ~15 s after which providers such as Twilio give up for good. After a failed publish,
    webhooks go straight to the spool for a few seconds (spool/breaker.py) rather than each
    waiting that bound again.
    """

    def __init__(
        self,
        publisher: Publisher | None,
        sessions: async_sessionmaker[AsyncSession],
        write_within: float,
        on_spooled: Callable[[], None] | None = None,
    ) -> None:
        # None: a process that started while RabbitMQ was unreachable; every message is spooled
        # until `attach` gives it the publisher.
        self._publisher = publisher
        self._sessions = sessions
        self._write_within = write_within
        self._on_spooled = on_spooled
        self._breaker = Breaker()
        self._clock = time.monotonic

    def attach(self, publisher: Publisher) -> None:
        """Publish with `publisher` from now on (opened once RabbitMQ answered)."""
        self._publisher = publisher

    def broker_confirmed(self) -> None:
        """RabbitMQ confirmed something (the relay's publish): webhooks try it again at once."""
        self._breaker.published()

    async def publish(self, message: InboundMessage) -> None:
        """Return once the message is durable; PublishFailed when neither store took it."""
        route = Route.SPOOL if self._publisher is None else self._breaker.route(self._clock())
        if self._publisher is None:
            reason = "not connected to RabbitMQ yet"
        elif route is Route.SPOOL:
            reason = "RabbitMQ failed a publish moments ago"
        else:
            try:
                await self._publisher.publish(message)
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
            async with asyncio.timeout(self._write_within), self._sessions.begin() as session:
                await Spool(session).add(message)
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
