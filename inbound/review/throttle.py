"""How long a sign-in attempt must wait after failed ones: growing delays, never a lock.

Each key (an account, a client address) gets `free` failures; after those, the next attempt must
wait `first`, doubling with every further failure up to `longest`, counted from the key's last
failure. Attempts refused for waiting are not failures: hammering during a wait doesn't extend
it, so whoever owns the account gets in at most `longest` after the last real guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

NO_WAIT = timedelta(0)


@dataclass(frozen=True)
class Delays:
    """The policy for one kind of key."""

    free: int  # failures allowed before any wait
    first: timedelta  # the wait after the first failure beyond `free`; it doubles from there
    longest: timedelta  # no wait is longer than this
    window: timedelta  # failures older than this are forgotten


@dataclass(frozen=True)
class Failures:
    """What is known of one key's recent failures: how many, and the time of the last."""

    count: int
    last: datetime | None

    def with_pending(self, pending: int, now: datetime) -> Failures:
        """Count attempts still being checked as failures that happen now (the safe guess)."""
        if pending <= 0:
            return self
        return Failures(self.count + pending, now)


@dataclass(frozen=True)
class SignInPolicy:
    """The delays per account and per client address."""

    account: Delays
    address: Delays  # counted in distinct accounts failed from the address


def sign_in_policy(limit: int) -> SignInPolicy:
    """The policy for INBOUND_SIGN_IN_LIMIT: `limit` free failures per account, four times as
    many accounts per address; waits from 30 s doubling to 15 min."""
    first, longest = timedelta(seconds=30), timedelta(minutes=15)
    return SignInPolicy(
        # A day: an attacker's steady rate is then about a hundred guesses an account a day
        # (NIST SP 800-63B's ceiling); the owner's full sign-in starts the count afresh.
        account=Delays(limit, first, longest, timedelta(hours=24)),
        # An hour: a busy office behind one address shouldn't add up a day of typing slips.
        address=Delays(4 * limit, first, longest, timedelta(hours=1)),
    )


def delay(delays: Delays, failures: int) -> timedelta:
    """The wait after `failures` failures, counted from the last of them."""
    beyond = failures - delays.free
    if beyond < 0:
        return NO_WAIT
    # Capped before doubling too far: 2**beyond overflows timedelta long before it matters.
    doublings = min(beyond, 32)
    return min(delays.first * (1 << doublings), delays.longest)


def wait(delays: Delays, failures: Failures, now: datetime) -> timedelta:
    """How long from `now` the next attempt must wait (NO_WAIT: go ahead)."""
    if failures.last is None:
        return NO_WAIT
    remaining = failures.last + delay(delays, failures.count) - now
    return max(remaining, NO_WAIT)


def sign_in_wait(
    policy: SignInPolicy, account: Failures, address: Failures, now: datetime
) -> timedelta:
    """The wait for an attempt on an account from an address: the longer of the two."""
    return max(wait(policy.account, account, now), wait(policy.address, address, now))


def in_words(duration: timedelta) -> str:
    """A wait as a person reads it, rounded up: "30 seconds", "1 minute", "15 minutes"."""
    seconds = max(1, math.ceil(duration.total_seconds()))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
