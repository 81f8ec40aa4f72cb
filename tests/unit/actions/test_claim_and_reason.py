"""Who may attempt an action (the claim), and the reason a failed attempt gives: from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.actions.attempts import (
    MAX_REASON,
    claim_until,
    error_reason,
    may_claim,
    status_reason,
    timeout_reason,
)
from inbound.states import ActionState

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("state", "claimed_until", "claimable"),
    [
        (ActionState.PENDING, None, True),  # nobody holds it
        (ActionState.PENDING, NOW - SECOND, True),  # its holder died; the claim lapsed
        (ActionState.PENDING, NOW, True),  # lapses at the deadline itself
        (ActionState.PENDING, NOW + SECOND, False),  # another worker is sending it
        (ActionState.DELIVERED, None, False),
        (ActionState.FAILED, None, False),
        (ActionState.SUPPRESSED, None, False),
        ("pending", None, True),  # as the database gives it back
    ],
)
def test_may_claim(state: str, claimed_until: datetime | None, claimable: bool) -> None:
    assert may_claim(state, claimed_until, NOW) is claimable


@pytest.mark.parametrize(
    ("timeout", "margin", "lapses_after"),
    [(10.0, 5.0, 15.0), (2.0, 1.0, 3.0), (0.5, 0.25, 0.75)],
)
def test_a_claim_outlasts_the_send_by_the_margin(
    timeout: float, margin: float, lapses_after: float
) -> None:
    until = claim_until(NOW, timeout, margin)
    assert until == NOW + timedelta(seconds=lapses_after)
    assert not may_claim(ActionState.PENDING, until, NOW + timedelta(seconds=timeout))
    assert may_claim(ActionState.PENDING, until, until)


def test_status_and_timeout_reasons() -> None:
    assert status_reason(503) == "HTTP 503"
    assert timeout_reason(10.0) == "timeout after 10 s"
    assert timeout_reason(2.5) == "timeout after 2.5 s"


@pytest.mark.parametrize(
    ("kind", "detail", "reason"),
    [
        (
            "ClientConnectorError",
            "Cannot connect to host surgery.example:443 ssl:default [Name or service not known]",
            "ClientConnectorError: Cannot connect to host surgery.example:443 ssl:default "
            "[Name or service not known]",
        ),
        (
            "ClientConnectorError",
            "Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed ('127.0.0.1', 9)]",
            "ClientConnectorError: Cannot connect to host 127.0.0.1:9 ssl:default "
            "[Connect call failed ('127.0.0.1', 9)]",
        ),
        (
            "ServerDisconnectedError",
            "Server disconnected",
            "ServerDisconnectedError: Server disconnected",
        ),
        ("ClientOSError", "", "ClientOSError"),
        # A URL keeps only its scheme and host: credentials, path and query can hold secrets.
        (
            "InvalidURL",
            "https://user:s3cret@hooks.example/in?token=abc&to=+447700900123",
            "InvalidURL: https://hooks.example",
        ),
        # Anything like a phone number is hidden, with or without its plus.
        ("ValueError", "bad number +447700900123", "ValueError: bad number [number]"),
        ("ValueError", "bad number 447700900123", "ValueError: bad number [number]"),
        # One line, whatever the message held.
        ("ClientPayloadError", "first\nsecond\r\n third", "ClientPayloadError: first second third"),
    ],
)
def test_error_reason_is_short_safe_and_one_line(kind: str, detail: str, reason: str) -> None:
    assert error_reason(kind, detail) == reason


def test_a_long_error_reason_is_cut() -> None:
    reason = error_reason("ClientResponseError", "x" * 1000)
    assert len(reason) == MAX_REASON
    assert reason.endswith("…")
