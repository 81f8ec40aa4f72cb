"""How far a walk through Notify's received texts goes, and what it publishes: from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.backfill.walk import (
    OVERLAP,
    Ended,
    Kept,
    SinceInvalid,
    Step,
    Walk,
    parse_since,
    step,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK_AGO = NOW - timedelta(days=7)


def texts(*minutes_ago: int) -> list[Kept]:
    """A page, newest first: text `t<m>` received `m` minutes before NOW."""
    return [Kept(f"t{m}", NOW - timedelta(minutes=m)) for m in minutes_ago]


POLL = Walk(since=WEEK_AGO, until_known=True)
# The previous complete poll began 30 minutes ago.
POLL_AFTER = Walk(since=WEEK_AGO, until_known=True, covered_to=NOW - timedelta(minutes=30))
BACKFILL = Walk(since=NOW - timedelta(hours=2), until_known=False)


@pytest.mark.parametrize(
    ("page", "known", "walk", "expected"),
    [
        # An empty page: Notify has nothing older.
        ([], set(), POLL, Step((), 0, None, Ended.END)),
        # Nothing known: all missing, and on to the page older than the last.
        (texts(1, 2, 3), set(), POLL, Step(("t1", "t2", "t3"), 3, "t3", None)),
        # A first poll stops at the first text inbound has; what is newer is missing.
        (texts(1, 2, 3), {"t2"}, POLL, Step(("t1",), 2, None, Ended.KNOWN)),
        # ... even when the very first is known.
        (texts(1, 2, 3), {"t1"}, POLL, Step((), 1, None, Ended.KNOWN)),
        # After a complete poll, a known text newer than its coverage (less the overlap) does
        # not end the walk: callbacks came back while the outage's texts are still missing.
        (texts(5, 20, 35, 45), {"t5"}, POLL_AFTER, Step(("t20", "t35", "t45"), 4, "t45", None)),
        # ... a known one inside the overlap doesn't either ...
        (texts(5, 35, 39), {"t35"}, POLL_AFTER, Step(("t5", "t39"), 3, "t39", None)),
        # ... and one older than coverage less overlap does.
        (texts(5, 35, 41, 50), {"t41"}, POLL_AFTER, Step(("t5", "t35"), 3, None, Ended.KNOWN)),
        # Texts older than `since` end any walk, known or not, and are never published.
        (
            [Kept("new", NOW), Kept("old", WEEK_AGO - timedelta(seconds=1))],
            set(),
            POLL,
            Step(("new",), 1, None, Ended.SINCE),
        ),
        # A text exactly at `since` is still in.
        ([Kept("edge", WEEK_AGO)], set(), POLL, Step(("edge",), 1, "edge", None)),
        # A backfill walks past known texts, to `since`.
        (texts(1, 2, 3), {"t1", "t2"}, BACKFILL, Step(("t3",), 3, "t3", None)),
        (texts(60, 119, 121), {"t60"}, BACKFILL, Step(("t119",), 2, None, Ended.SINCE)),
        # A page repeating a text publishes it once.
        (texts(1, 1, 2), set(), POLL, Step(("t1", "t2"), 3, "t2", None)),
    ],
)
def test_step_decides_what_is_missing_and_how_far_to_go(
    page: list[Kept], known: set[str], walk: Walk, expected: Step
) -> None:
    assert step(page, known, walk) == expected


def test_the_overlap_reaches_back_past_coverage() -> None:
    # The rule above in numbers: a known text exactly OVERLAP before coverage ends the poll.
    covered = NOW - timedelta(minutes=30)
    walk = Walk(since=WEEK_AGO, until_known=True, covered_to=covered)
    at_edge = Kept("edge", covered - OVERLAP)
    inside = Kept("inside", covered - OVERLAP + timedelta(seconds=1))
    assert walk.ends_at(at_edge)
    assert not walk.ends_at(inside)
    assert not BACKFILL.ends_at(at_edge)


def test_a_step_either_goes_on_or_ends() -> None:
    with pytest.raises(ValueError, match="not both"):
        Step((), 0, "t1", Ended.END)
    with pytest.raises(ValueError, match="not both"):
        Step((), 0, None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        (" 2D ", timedelta(days=2)),
        ("168h", timedelta(days=7)),
    ],
)
def test_since_reads_minutes_hours_and_days(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("8d", "at most 7d"),
        ("169h", "at most 7d"),
        ("7", "a number and m, h or d"),
        ("d", "a number and m, h or d"),
        ("0d", "a number and m, h or d"),
        ("-1d", "a number and m, h or d"),
        ("1w", "a number and m, h or d"),
        ("", "a number and m, h or d"),
    ],
)
def test_since_refuses_what_it_cannot_read_or_notify_no_longer_keeps(text: str, why: str) -> None:
    with pytest.raises(SinceInvalid, match=why):
        parse_since(text)
