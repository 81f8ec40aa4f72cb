"""Whether an API token may be used now, and if not why; and when its use is worth recording.

Values in, values out: the store loads a token's dates and its user's, the API asks here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A token made without an expiry (before tokens had one) lives this long from its creation, so
# no token lives for ever. `inbound tokens add --expires-in DAYS` chooses another lifetime.
DEFAULT_LIFETIME = timedelta(days=90)
LONGEST_LIFETIME = timedelta(days=365)

# last_used_at is written at most this often per token: a busy client doesn't turn every /api
# read into a write, and "last used" to the minute is all an administrator needs.
USE_RECORDED_EVERY = timedelta(minutes=1)


class TokenState(StrEnum):
    """What a token is now. Only ACTIVE authenticates."""

    ACTIVE = "active"
    REVOKED = "revoked"  # by `inbound tokens revoke`, or when its user was disabled or reset
    USER_DISABLED = "user disabled"  # its user is disabled (tokens are revoked then, too)
    EXPIRED = "expired"  # past its expiry
    UNKNOWN = "unknown"  # no token has this hash


@dataclass(frozen=True)
class TokenFacts:
    """What the database holds about one token and its user."""

    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    user_disabled_at: datetime | None


def expiry(facts: TokenFacts) -> datetime:
    """When the token stops working: its own expiry, or the default lifetime from creation."""
    return facts.expires_at or facts.created_at + DEFAULT_LIFETIME


def token_state(facts: TokenFacts | None, now: datetime) -> TokenState:
    """The token's state at `now`; None (no such token) is UNKNOWN.

    An explicit act (revoked, user disabled) is named before the passage of time (expired):
    it is the reason an administrator will want to see.
    """
    if facts is None:
        return TokenState.UNKNOWN
    if facts.revoked_at is not None:
        return TokenState.REVOKED
    if facts.user_disabled_at is not None:
        return TokenState.USER_DISABLED
    if now >= expiry(facts):
        return TokenState.EXPIRED
    return TokenState.ACTIVE


def use_worth_recording(last_used_at: datetime | None, now: datetime) -> bool:
    """True when last_used_at should be moved to `now` (never recorded, or a minute old)."""
    return last_used_at is None or now - last_used_at >= USE_RECORDED_EVERY
