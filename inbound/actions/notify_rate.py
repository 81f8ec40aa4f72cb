"""Keeping replies under GOV.UK Notify's rate limit, per Notify service. Pure.

Notify limits each service (per API key type) with a token bucket (notifications-api
`app/notifications/validators.py` `token_bucket_rate_limit_exceeded`): it refills at
`rate_limit / 60` a second, 3,000 a minute by default (`Service.rate_limit`), holds at most
`min(ceil(rate_limit / 3) + 1, 1001)`, and a request that finds it empty is refused with 429
RateLimitError. Our bucket is the same shape, kept per process: a reply waits its turn here
rather than be refused there; after a 429 it is emptied, so this process slows to Notify's
refill rate instead of trying the whole burst again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PER_MINUTE = 3000  # Notify's default rate limit for a service


def burst(per_minute: int) -> int:
    """How many requests Notify's bucket holds for a service limited to `per_minute`."""
    return min(math.ceil(per_minute / 3) + 1, 1001)


@dataclass
class Bucket:
    """One Notify service's bucket, as seen by this process; `now` is in seconds."""

    per_minute: int = PER_MINUTE
    tokens: float = field(default=-1.0)
    updated: float | None = None

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(burst(self.per_minute))

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            rate = self.per_minute / 60
            self.tokens = min(
                float(burst(self.per_minute)), self.tokens + (now - self.updated) * rate
            )
        self.updated = now if self.updated is None else max(self.updated, now)

    def wait(self, now: float) -> float:
        """Seconds until a request may go (0 when it may go now); nothing is taken."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / (self.per_minute / 60)

    def take(self, now: float) -> None:
        """Count a request made now (after its wait)."""
        self._refill(now)
        self.tokens -= 1

    def refused(self, now: float) -> None:
        """Notify answered 429: its bucket is empty, so is ours from now."""
        self._refill(now)
        self.tokens = min(self.tokens, 0.0)
