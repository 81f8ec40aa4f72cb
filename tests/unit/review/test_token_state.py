"""Whether an API token may be used, and if not why; and when its use is worth recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.commands import tokens as tokens_command
from inbound.review.token_state import (
    DEFAULT_LIFETIME,
    LONGEST_LIFETIME,
    TokenFacts,
    TokenState,
    expiry,
    token_state,
    use_worth_recording,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MADE = NOW - timedelta(days=10)
LATER = NOW + timedelta(days=1)
EARLIER = NOW - timedelta(seconds=1)


def facts(
    *,
    expires: datetime | None = LATER,
    revoked: datetime | None = None,
    disabled: datetime | None = None,
    created: datetime = MADE,
) -> TokenFacts:
    return TokenFacts(
        created_at=created, expires_at=expires, revoked_at=revoked, user_disabled_at=disabled
    )


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, TokenState.UNKNOWN),
        (facts(), TokenState.ACTIVE),
        (facts(expires=NOW + timedelta(seconds=1)), TokenState.ACTIVE),
        (facts(expires=NOW), TokenState.EXPIRED),  # the expiry itself is too late
        (facts(expires=EARLIER), TokenState.EXPIRED),
        (facts(revoked=EARLIER), TokenState.REVOKED),
        # A revocation stamped by a clock a little ahead of this one still counts.
        (facts(revoked=NOW + timedelta(seconds=5)), TokenState.REVOKED),
        (facts(disabled=EARLIER), TokenState.USER_DISABLED),
        # The act someone did is named before the passage of time.
        (facts(revoked=EARLIER, expires=EARLIER), TokenState.REVOKED),
        (facts(disabled=EARLIER, expires=EARLIER), TokenState.USER_DISABLED),
        (facts(revoked=EARLIER, disabled=EARLIER), TokenState.REVOKED),
        # Made before tokens had an expiry: the default lifetime from creation.
        (facts(expires=None, created=NOW - DEFAULT_LIFETIME + timedelta(1)), TokenState.ACTIVE),
        (facts(expires=None, created=NOW - DEFAULT_LIFETIME), TokenState.EXPIRED),
    ],
)
def test_a_token_is_usable_only_when_active(token: TokenFacts | None, expected: TokenState) -> None:
    assert token_state(token, NOW) is expected


def test_a_token_without_an_expiry_expires_the_default_lifetime_after_it_was_made() -> None:
    assert expiry(facts(expires=None)) == MADE + timedelta(days=90)
    assert expiry(facts(expires=LATER)) == LATER


@pytest.mark.parametrize(
    ("last_used", "recorded"),
    [
        (None, True),
        (NOW, False),
        (NOW - timedelta(seconds=59), False),
        (NOW - timedelta(seconds=60), True),
        (NOW - timedelta(days=3), True),
    ],
)
def test_use_is_recorded_at_most_once_a_minute(last_used: datetime | None, recorded: bool) -> None:
    assert use_worth_recording(last_used, NOW) is recorded


def test_the_tokens_command_offers_the_lifetimes_the_core_uses() -> None:
    assert timedelta(days=tokens_command.DEFAULT_DAYS) == DEFAULT_LIFETIME
    assert timedelta(days=tokens_command.LONGEST_DAYS) == LONGEST_LIFETIME
