"""How far a provider's stated time for a message may be from inbound's clock. Pure.

A provider says when it received a message (`received_at`); inbound stamps when it accepted it
(`accepted_at`). A genuine message reaches us within the provider's retry span of the former, so
a stated time further in the past than that, or ahead of us, is a clock (or a payload) to look
at. It is flagged, never refused: the message is still genuine. Retention and ordering use
inbound's own time, so a wrong stated time can't keep a message for ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# How long each provider keeps retrying a webhook (docs/providers.md).
# Only providers that state a time are listed; the others' is DEFAULT_WINDOW.
RETRY_WINDOWS: Mapping[str, timedelta] = {
    "bandwidth": timedelta(hours=24),
    # Notify's callback retries for 25 minutes, but the backfill poller publishes under the same
    # name what Notify kept: received texts are kept 7 days by default.
    "notify": timedelta(days=7),
    "sinch": timedelta(hours=46),  # 5 s doubling up to 81 920 s between attempts
    "sns": timedelta(hours=1),  # an HTTP/S delivery policy can't exceed 3 600 s
    "telnyx": timedelta(minutes=15),  # three attempts, then the failover URL
    "vonage": timedelta(hours=24),
    "vonage-messages": timedelta(hours=24),
}
DEFAULT_WINDOW = timedelta(hours=24)
# Clocks differ and a provider holds a message a moment before the first attempt.
SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Skew:
    """A stated time outside the window: seconds ahead (positive) or behind (negative)."""

    seconds: float

    @property
    def direction(self) -> str:
        """`future` or `past`: a bounded metric label."""
        return "future" if self.seconds > 0 else "past"


def retry_window(provider: str) -> timedelta:
    """How long after its stated time a provider may still deliver a message."""
    return RETRY_WINDOWS.get(provider, DEFAULT_WINDOW)


def outside_window(provider: str, received_at: datetime, accepted_at: datetime) -> Skew | None:
    """The skew when `received_at` is implausible for a message accepted at `accepted_at`."""
    skew = received_at - accepted_at
    if skew > SLACK or -skew > retry_window(provider) + SLACK:
        return Skew(round(skew.total_seconds(), 3))
    return None
