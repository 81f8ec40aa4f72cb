"""The pure parts of `inbound trace`: reading the ID typed, a callback's shown address, and a
pending action's next attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.trace import ActionFacts, Wanted, action_rows, next_attempt, target, wanted

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("SM0123456789abcdef", Wanted("id", "SM0123456789abcdef")),
        ("item:12", Wanted("item", "12")),
        ("#12", Wanted("item", "12")),
        ("Item #12", Wanted("item", "12")),
        ("action:42", Wanted("action", "42")),
        ("appointments:7:callback:confirm", Wanted("id", "appointments:7:callback:confirm")),
        ("generic:demo-1", Wanted("id", "generic:demo-1")),
        ("12", Wanted("id", "12")),  # a bare number is a provider's id (some are numeric)
    ],
)
def test_the_id_typed_is_read_as_what_a_person_has_in_hand(typed: str, read: Wanted) -> None:
    assert wanted(typed) == read


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://surgery.example/inbound/appointments", "surgery.example/inbound/appointments"),
        ("https://user:pw@host.example:8443/a?token=secret", "host.example:8443/a"),
        ("http://127.0.0.1:9", "127.0.0.1:9/"),
        (None, "(address purged)"),
    ],
)
def test_a_callback_shows_host_and_path_only(url: str | None, shown: str) -> None:
    assert target(url) == shown


def facts(state: str, attempts: int, first: datetime | None) -> ActionFacts:
    return ActionFacts(
        id=1,
        key="k",
        kind="callback",
        state=state,
        attempts=attempts,
        url="https://a.example/",
        recipient=None,
        last_error=None,
        created_at=T0,
        published_at=T0,
        first_attempt_at=first,
        finished_at=None,
    )


@pytest.mark.parametrize(
    ("state", "attempts", "due"),
    [
        ("pending", 0, None),  # queued: goes now
        ("pending", 1, T0 + timedelta(seconds=5)),
        ("pending", 2, T0 + timedelta(seconds=35)),
        ("pending", 4, T0 + timedelta(seconds=5 + 30 + 30 + 30)),  # the last delay repeats
        ("delivered", 2, None),
        ("failed", 2, None),
    ],
)
def test_next_attempt_follows_the_retry_delays(
    state: str, attempts: int, due: datetime | None
) -> None:
    assert next_attempt(facts(state, attempts, T0 if attempts else None), [5, 30]) == due


def test_a_suppressed_reply_says_why() -> None:
    lines = action_rows(
        {
            "id": 3,
            "kind": "reply",
            "target": "+44********23",
            "state": "suppressed",
            "attempts": 0,
            "queued": False,
            "next_attempt_at": None,
            "last_error": "opted out",
            "sent_at": None,
            "gave_up_at": None,
        }
    )
    assert lines == [
        ("reply", "#3 to +44********23"),
        ("", "suppressed: not sent"),
        ("", "why: opted out"),
    ]
