"""What follows an attempt at delivering an action, from a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.actions.attempts import Attempt, after_attempt
from inbound.actions.backoff import RetryPolicy
from inbound.states import ActionState

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(delays=(5.0, 30.0, 300.0), max_attempts=4, max_age=timedelta(hours=1))


@pytest.mark.parametrize(
    ("attempt", "attempts", "elapsed", "state", "retry_in"),
    [
        (Attempt(True, 200), 1, timedelta(0), ActionState.DELIVERED, None),
        (Attempt(True, 204), 3, timedelta(minutes=5), ActionState.DELIVERED, None),
        (Attempt(False, 503, "HTTP 503"), 1, timedelta(0), ActionState.PENDING, 5.0),
        (Attempt(False, None, "timeout"), 2, timedelta(seconds=5), ActionState.PENDING, 30.0),
        (Attempt(False, 429, "HTTP 429"), 3, timedelta(seconds=40), ActionState.PENDING, 300.0),
        (Attempt(False, 408, "HTTP 408"), 1, timedelta(0), ActionState.PENDING, 5.0),
        # A final answer: no retry at all.
        (Attempt(False, 400, "HTTP 400"), 1, timedelta(0), ActionState.FAILED, None),
        (Attempt(False, 410, "HTTP 410"), 1, timedelta(0), ActionState.FAILED, None),
        # Final whatever the status: a setting to fix (a service's Notify key not set).
        (
            Attempt(False, None, "Notify not set up", final=True),
            1,
            timedelta(0),
            ActionState.FAILED,
            None,
        ),
        # Out of attempts, or out of time.
        (Attempt(False, 503, "HTTP 503"), 4, timedelta(minutes=6), ActionState.FAILED, None),
        (Attempt(False, 503, "HTTP 503"), 2, timedelta(hours=1), ActionState.FAILED, None),
    ],
)
def test_after_attempt(
    attempt: Attempt,
    attempts: int,
    elapsed: timedelta,
    state: ActionState,
    retry_in: float | None,
) -> None:
    after = after_attempt(
        attempt,
        kind="callback",
        attempts=attempts,
        first_attempt_at=START,
        now=START + elapsed,
        policy=POLICY,
    )
    assert after.state is state
    assert after.retry_in == retry_in
    assert (after.review_reason is not None) is (state is ActionState.FAILED)
    assert (after.error is None) is attempt.ok


def test_giving_up_says_what_failed_and_how_often() -> None:
    after = after_attempt(
        Attempt(False, 404, "HTTP 404 from surgery.example"),
        kind="callback",
        attempts=1,
        first_attempt_at=START,
        now=START,
        policy=POLICY,
    )
    assert after.review_reason == "callback failed: HTTP 404 from surgery.example after 1 attempts"


def test_a_long_error_is_cut_to_fit_the_row() -> None:
    after = after_attempt(
        Attempt(False, 500, "x" * 2000),
        kind="reply",
        attempts=1,
        first_attempt_at=START,
        now=START,
        policy=POLICY,
    )
    assert after.error is not None
    assert len(after.error) == 500


def test_a_failure_without_words_still_has_an_error() -> None:
    after = after_attempt(
        Attempt(False, 502),
        kind="reply",
        attempts=1,
        first_attempt_at=START,
        now=START,
        policy=POLICY,
    )
    assert after.error == "failed"
