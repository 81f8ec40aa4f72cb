"""Retrying a failed callback or reply: when to try again, when to stop (docs/callbacks.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.actions.backoff import RetryPolicy, is_retryable
from inbound.config import Settings

# The documented defaults: 5 s, 30 s, 2 min, 10 min, 30 min, then hourly; 8 attempts or 24 h.
DOCUMENTED = RetryPolicy(
    delays=[5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0],
    max_attempts=8,
    max_age=timedelta(hours=24),
)
FIRST = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)


def test_the_settings_defaults_are_the_documented_policy() -> None:
    fields = Settings.model_fields
    assert fields["retry_delays"].get_default(call_default_factory=True) == DOCUMENTED.delays
    assert fields["callback_max_attempts"].default == DOCUMENTED.max_attempts
    assert timedelta(seconds=fields["callback_max_age"].default) == DOCUMENTED.max_age


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (1, 5.0),
        (2, 30.0),
        (3, 120.0),
        (4, 600.0),
        (5, 1800.0),
        (6, 3600.0),
        (7, 3600.0),  # the last delay repeats: hourly from here on
        (100, 3600.0),
        (0, 5.0),  # attempts count from 1; anything less waits the first delay
        (-3, 5.0),
    ],
)
def test_delay_after_a_number_of_failed_attempts(attempts: int, delay: float) -> None:
    assert DOCUMENTED.delay_after(attempts) == delay


@pytest.mark.parametrize("attempts", [1, 2, 50])
def test_a_single_delay_is_used_every_time(attempts: int) -> None:
    policy = RetryPolicy(delays=[0.2], max_attempts=3, max_age=timedelta(minutes=1))
    assert policy.delay_after(attempts) == 0.2


@pytest.mark.parametrize(
    ("attempts", "since_first", "exhausted"),
    [
        (0, timedelta(0), False),
        (1, timedelta(0), False),
        (7, timedelta(hours=23, minutes=59, seconds=59), False),
        (8, timedelta(0), True),  # the eighth attempt was the last
        (9, timedelta(0), True),
        (1, timedelta(hours=24) - timedelta(microseconds=1), False),
        (1, timedelta(hours=24), True),  # a day after the first attempt, even with attempts left
        (1, timedelta(days=3), True),
    ],
)
def test_retrying_stops_at_the_attempt_limit_or_the_age_limit(
    attempts: int, since_first: timedelta, exhausted: bool
) -> None:
    assert DOCUMENTED.exhausted(attempts, FIRST, FIRST + since_first) is exhausted


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (None, True),  # a timeout or connection error: no answer at all
        (408, True),  # Request Timeout
        (429, True),  # Too Many Requests
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (599, True),
        (400, False),  # other 4xx answers are final
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (410, False),
        (413, False),
        (422, False),
        (499, False),
        (301, False),  # callbacks don't follow redirects, and a redirect won't change on retry
        (302, False),
    ],
)
def test_which_answers_are_retried(status: int | None, retryable: bool) -> None:
    assert is_retryable(status) is retryable


@pytest.mark.parametrize(
    ("wait", "delay"),
    [(0.0, 5.0), (5.0, 5.0), (5.1, 30.0), (100.0, 120.0), (10_000.0, 120.0)],
)
def test_an_action_waiting_for_its_turn_goes_round_the_shortest_delay_long_enough(
    wait: float, delay: float
) -> None:
    policy = RetryPolicy(delays=(5.0, 30.0, 120.0), max_attempts=3, max_age=timedelta(hours=1))
    assert policy.delay_at_least(wait) == delay
