"""A callback or reply that gave up, in words, and when it may be sent again: from tables."""

# ruff: noqa: E501 (a table of sentences reads best one case a line)

from __future__ import annotations

import pytest

from inbound.actions.attempts import error_reason, status_reason, timeout_reason
from inbound.review.undelivered_words import retry_refusal, times, why_in_words

CALLBACK = "The service's callback address"


@pytest.mark.parametrize(
    ("kind", "error", "attempts", "expected"),
    [
        ("callback", timeout_reason(2), 4, f"{CALLBACK} did not answer within 2 seconds, 4 times."),
        ("callback", timeout_reason(1), 1, f"{CALLBACK} did not answer within 1 second, once."),
        ("callback", timeout_reason(2.5), 2, f"{CALLBACK} did not answer within 2.5 seconds, twice."),
        ("callback", status_reason(500), 4, f"{CALLBACK} answered with an error of its own (HTTP 500), 4 times."),
        ("callback", status_reason(503), 4, f"{CALLBACK} was unavailable (HTTP 503), 4 times."),
        ("callback", status_reason(404), 1, f"{CALLBACK} said there is no such address (HTTP 404), once."),
        ("callback", status_reason(401), 1, f"{CALLBACK} refused the callback: it did not accept inbound's signature (HTTP 401), once."),
        ("callback", status_reason(422), 1, f"{CALLBACK} refused the callback as not valid (HTTP 422), once."),
        ("callback", status_reason(429), 6, f"{CALLBACK} said it was getting too many requests (HTTP 429), 6 times."),
        ("callback", status_reason(301), 1, f"{CALLBACK} answered with a redirect (HTTP 301), which inbound does not follow, once."),
        (
            "callback",
            error_reason("ClientConnectorError", "Cannot connect to host svc.example:443 ssl:default [Connection refused]"),
            4,
            f"{CALLBACK} could not be reached: the connection was refused or the host is down, 4 times.",
        ),
        (
            "callback",
            error_reason("ClientConnectorDNSError", "Cannot connect to host nowhere.example:443"),
            4,
            f"{CALLBACK} could not be found: its host name does not exist, 4 times.",
        ),
        ("callback", error_reason("ServerDisconnectedError", "Server disconnected"), 3, f"{CALLBACK} closed the connection without answering, 3 times."),
        ("callback", "failed", 4, "The callback could not be delivered, 4 times, for a reason not described in words here."),
        ("callback", None, 0, "The callback could not be delivered, once, for a reason not described in words here."),
        ("reply", "Notify answered HTTP 400", 1, "GOV.UK Notify refused the text (HTTP 400): most often a number that can't receive texts, or a template or trial-mode setting, once."),
        ("reply", "Notify answered HTTP 403", 1, "GOV.UK Notify did not accept inbound's API key (HTTP 403), once."),
        ("reply", "Notify answered HTTP 503", 4, "GOV.UK Notify was unavailable (HTTP 503), 4 times."),
        ("reply", "Notify unreachable: timeout after 10 s", 4, "GOV.UK Notify did not answer within 10 seconds, 4 times."),
        ("reply", "Notify unreachable: ClientConnectorError: Cannot connect to host api.notifications.service.gov.uk:443", 4, "GOV.UK Notify could not be reached: the connection was refused or the host is down, 4 times."),
        ("reply", "HTTP 500", 2, "The text message provider was unavailable (HTTP 500), twice."),
        # Notify's own words (attempts.notify_reason) are quoted, after what its status means.
        ("reply", "Notify answered HTTP 400: Can’t send to this recipient using a team-only API key", 1, "GOV.UK Notify refused the text (HTTP 400), once. Notify said: “Can’t send to this recipient using a team-only API key”"),
        ("reply", "Notify answered HTTP 403: Invalid token: API key revoked", 1, "GOV.UK Notify did not accept inbound's API key (HTTP 403), once. Notify said: “Invalid token: API key revoked”"),
        ("reply", "Notify answered HTTP 429: Exceeded send limits (sms: 250000) for today", 8, "GOV.UK Notify said the service had sent too many texts for now (HTTP 429), 8 times. Notify said: “Exceeded send limits (sms: 250000) for today”"),
        ("reply", "Notify answered HTTP 500: Internal server error", 8, "GOV.UK Notify was unavailable (HTTP 500), 8 times. Notify said: “Internal server error”"),
        ("reply", "Notify not set up: APPOINTMENTS_NOTIFY_API_KEY is not set", 1, "The text was not sent: APPOINTMENTS_NOTIFY_API_KEY is not set."),
        ("reply", "Notify rate limit: held back by inbound (3000 texts a minute for this Notify service)", 8, "inbound held the text back to keep within GOV.UK Notify's limit of texts a minute, 8 times."),
    ],
)  # fmt: skip
def test_why_in_words(kind: str, error: str | None, attempts: int, expected: str) -> None:
    assert why_in_words(kind, error, attempts) == expected


def test_a_raw_exception_text_is_never_repeated() -> None:
    raw = "ValueError: something odd at 0x7f3a +447700900123"
    words = why_in_words("callback", raw, 4)
    assert "ValueError" not in words
    assert "0x7f3a" not in words
    assert "447700" not in words


@pytest.mark.parametrize(("attempts", "expected"), [(1, "once"), (2, "twice"), (3, "3 times")])
def test_times(attempts: int, expected: str) -> None:
    assert times(attempts) == expected


@pytest.mark.parametrize(
    ("kind", "sent", "cap", "expected"),
    [
        ("reply", 4, 5, None),
        ("reply", 5, 5, "has had 5 texts from the service in the last hour and 5 is the most"),
        ("reply", 0, 0, "turned off"),
        ("callback", 9, 5, None),  # the cap counts texts, not callbacks
    ],
)
def test_a_reply_sent_again_keeps_to_the_hourly_cap(
    kind: str, sent: int, cap: int, expected: str | None
) -> None:
    refusal = retry_refusal(
        state="failed", kind=kind, has_payload=True, opted_out=False, sent_last_hour=sent, cap=cap
    )
    if expected is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert expected in refusal


@pytest.mark.parametrize(
    ("state", "kind", "has_payload", "opted_out", "allowed", "expected"),
    [
        ("failed", "callback", True, False, True, None),
        ("failed", "reply", True, False, True, None),
        ("failed", "reply", True, True, True, "opted out"),
        ("failed", "callback", True, True, True, None),  # an opt-out stops texts, not callbacks
        ("failed", "callback", False, False, True, "retention"),
        ("failed", "callback", True, False, False, "INBOUND_CALLBACKS=off"),
        ("pending", "callback", True, False, True, "already waiting"),
        ("delivered", "callback", True, False, True, "it has been delivered"),
        ("suppressed", "reply", True, False, True, "never to be sent"),
    ],
)
def test_retry_refusal(
    state: str, kind: str, has_payload: bool, opted_out: bool, allowed: bool, expected: str | None
) -> None:
    refusal = retry_refusal(
        state=state, kind=kind, has_payload=has_payload, opted_out=opted_out, allowed=allowed
    )
    if expected is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert expected in refusal
