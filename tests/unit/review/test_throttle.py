"""Sign-in delays, from tables: free failures, then waits doubling to a ceiling, never a lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.review.throttle import (
    NO_WAIT,
    Delays,
    Failures,
    delay,
    in_words,
    sign_in_policy,
    sign_in_wait,
    wait,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
DELAYS = Delays(free=5, first=30 * S, longest=15 * MIN, window=timedelta(hours=24))


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (0, NO_WAIT),
        (4, NO_WAIT),
        (5, 30 * S),  # the first failure beyond the free five
        (6, 60 * S),
        (7, 2 * MIN),
        (8, 4 * MIN),
        (9, 8 * MIN),
        (10, 15 * MIN),  # 16 min, capped
        (11, 15 * MIN),
        (10_000, 15 * MIN),  # never overflows, never more than the ceiling
    ],
)
def test_the_wait_doubles_after_the_free_failures_up_to_the_ceiling(
    failures: int, expected: timedelta
) -> None:
    assert delay(DELAYS, failures) == expected


@pytest.mark.parametrize(
    ("count", "last_failure_ago", "expected"),
    [
        (0, None, NO_WAIT),  # nothing failed
        (4, 0 * S, NO_WAIT),  # still within the free failures
        (5, 0 * S, 30 * S),  # just failed the fifth time
        (5, 10 * S, 20 * S),  # counted from the last failure, not from the attempt
        (5, 30 * S, NO_WAIT),  # the wait is over: one more guess allowed
        (6, 59 * S, 1 * S),
        (12, 14 * MIN, 1 * MIN),
        (12, 20 * MIN, NO_WAIT),  # even a long run of failures ends in a wait, not a lock
    ],
)
def test_the_next_attempt_waits_from_the_last_failure(
    count: int, last_failure_ago: timedelta | None, expected: timedelta
) -> None:
    last = None if last_failure_ago is None else NOW - last_failure_ago
    assert wait(DELAYS, Failures(count, last), NOW) == expected


def test_attempts_refused_during_a_wait_do_not_extend_it() -> None:
    # Refused attempts are never recorded as failures, so the inputs, and the wait's end, stay
    # the same however often someone tries meanwhile.
    failures = Failures(7, NOW)
    ends = {NOW + wait(DELAYS, failures, NOW + k * S) + k * S for k in range(0, 120, 7)}
    assert ends == {NOW + 2 * MIN}


def test_attempts_still_being_checked_count_as_failures_now() -> None:
    # Five guesses sent at once must not all be checked: the ones in flight count as failures.
    assert wait(DELAYS, Failures(4, NOW - MIN).with_pending(0, NOW), NOW) == NO_WAIT
    assert wait(DELAYS, Failures(4, NOW - MIN).with_pending(1, NOW), NOW) == 30 * S
    assert wait(DELAYS, Failures(0, None).with_pending(6, NOW), NOW) == 60 * S


POLICY = sign_in_policy(5)


@pytest.mark.parametrize(
    ("account", "address", "expected"),
    [
        # One account's failures delay that account only: the address has failed once (one
        # distinct account), far below the twenty accounts an address is allowed.
        (Failures(5, NOW), Failures(1, NOW), 30 * S),
        (Failures(0, None), Failures(1, NOW), NO_WAIT),
        # Twenty different accounts failed from one address: it waits, whichever account.
        (Failures(0, None), Failures(20, NOW), 30 * S),
        (Failures(0, None), Failures(19, NOW), NO_WAIT),
        # Both: the longer wait.
        (Failures(7, NOW), Failures(20, NOW), 2 * MIN),
    ],
)
def test_a_sign_in_waits_for_the_longer_of_its_account_and_its_address(
    account: Failures, address: Failures, expected: timedelta
) -> None:
    assert sign_in_wait(POLICY, account, address, NOW) == expected


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(milliseconds=200), "1 second"),
        (1 * S, "1 second"),
        (timedelta(seconds=29.2), "30 seconds"),
        (59 * S, "59 seconds"),
        (60 * S, "1 minute"),
        (61 * S, "2 minutes"),
        (15 * MIN, "15 minutes"),
    ],
)
def test_a_wait_reads_in_words_rounded_up(duration: timedelta, words: str) -> None:
    assert in_words(duration) == words
