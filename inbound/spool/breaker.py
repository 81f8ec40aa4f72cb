"""Whether a webhook tries RabbitMQ first or goes straight to the spool: a breaker over recent
publish failures. Pure: the caller passes the clock.

Without it, every webhook during a broker failover waited the full INBOUND_SPOOL_AFTER for a
confirm that wasn't coming, and then all of them hit the database at once: under load some
spool writes overran their bound and were answered 503 (the cluster test saw 59 of 4,804).
After a failure, webhooks go to the spool at once for a few seconds; then one webhook tries
RabbitMQ again while the others keep spooling, and its answer closes or re-opens the breaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Seconds webhooks skip RabbitMQ after a failed publish. The relay moves what is spooled as
# soon as RabbitMQ confirms again, so a short skip costs little; a long one only delays.
COOL_OFF = 5.0


class Route(Enum):
    """Where one webhook's message goes first."""

    PUBLISH = "publish"  # RabbitMQ, the spool if it doesn't confirm in time
    TRIAL = "trial"  # the one publish that tests a broker that failed recently
    SPOOL = "spool"  # straight to the spool: RabbitMQ failed moments ago


@dataclass
class Breaker:
    """Recent publish failures, and whether the next webhook should try RabbitMQ."""

    cool_off: float = COOL_OFF
    _open_until: float | None = None  # set while RabbitMQ is in doubt
    _trial: bool = False  # one webhook is testing it now

    def route(self, now: float) -> Route:
        """The route for a webhook arriving at `now` (a TRIAL must be followed by a report)."""
        if self._open_until is None:
            return Route.PUBLISH
        if now < self._open_until or self._trial:
            return Route.SPOOL
        self._trial = True
        return Route.TRIAL

    def published(self) -> None:
        """RabbitMQ confirmed a message: every webhook tries it again."""
        self._open_until = None
        self._trial = False

    def failed(self, now: float) -> None:
        """A publish was not confirmed in time or was refused."""
        self._open_until = now + self.cool_off
        self._trial = False

    def trial_abandoned(self) -> None:
        """The testing publish ended without an answer (its webhook was cancelled)."""
        self._trial = False

    @property
    def open(self) -> bool:
        """True while webhooks are skipping RabbitMQ (or one is testing it)."""
        return self._open_until is not None
