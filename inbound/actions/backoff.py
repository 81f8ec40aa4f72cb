"""When to try a failed delivery again, and when to stop. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between attempts (the last repeats), and the bounds on attempts and total time."""

    delays: Sequence[float]
    max_attempts: int
    max_age: timedelta

    def delay_after(self, attempts: int) -> float:
        """Seconds to wait after the given number of failed attempts (1-based)."""
        index = min(max(attempts, 1), len(self.delays)) - 1
        return self.delays[index]

    def delay_at_least(self, seconds: float) -> float:
        """The shortest delay (of those with a delay queue) that is at least `seconds`, or the
        longest if none is: for an action sent round again to wait for its service's turn."""
        fitting = [delay for delay in self.delays if delay >= seconds]
        return min(fitting) if fitting else max(self.delays)

    def exhausted(self, attempts: int, first_attempt: datetime, now: datetime) -> bool:
        """True when no further attempt may be made."""
        return attempts >= self.max_attempts or now - first_attempt >= self.max_age


def is_retryable(status: int | None) -> bool:
    """A timeout, connection error (None) or 5xx, 408 or 429 is worth retrying; other 4xx isn't."""
    return status is None or status >= 500 or status in (408, 429)
