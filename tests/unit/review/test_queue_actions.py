"""The queue's own actions, decided from plain values: who an item may be assigned to, when a
claim lapses, which ticked items a bulk action changes, and what the summary banner says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.review.queue_decisions import (
    MAX_SELECTED,
    Bulk,
    Skip,
    Summary,
    assign_refusal,
    bulk_skip,
    lapsed,
    released_words,
    selected,
    summary_from,
)

NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
ME, OTHER, ASSIGNEE = 1, 2, 3


@pytest.mark.parametrize(
    ("state", "service", "holder", "members", "expected"),
    [
        ("open", "alpha", None, {"alpha"}, None),
        ("claimed", "alpha", OTHER, {"alpha"}, None),  # taken from whoever holds it
        ("claimed", "alpha", ME, {"alpha", "beta"}, None),
        ("claimed", "alpha", ASSIGNEE, {"alpha"}, Skip.ALREADY),
        ("open", "alpha", None, {"beta"}, Skip.NOT_MEMBER),
        ("open", "alpha", None, set(), Skip.NOT_MEMBER),
        ("open", None, None, {"alpha"}, Skip.NO_SERVICE),
        ("resolved", "alpha", ME, {"alpha"}, Skip.RESOLVED),
        ("dismissed", "alpha", ME, {"alpha"}, Skip.DISMISSED),
    ],
)
def test_an_item_is_assigned_only_when_live_and_to_a_member_of_its_service(
    state: str, service: str | None, holder: int | None, members: set[str], expected: Skip | None
) -> None:
    assert (
        assign_refusal(
            state=state, service_id=service, holder=holder, assignee=ASSIGNEE, members=members
        )
        is expected
    )


@pytest.mark.parametrize(
    ("act", "state", "holder", "expected"),
    [
        (Bulk.DISMISS, "open", None, None),
        (Bulk.DISMISS, "claimed", ME, None),
        (Bulk.DISMISS, "claimed", OTHER, Skip.HELD),
        (Bulk.DISMISS, "resolved", ME, Skip.RESOLVED),
        (Bulk.DISMISS, "dismissed", None, Skip.DISMISSED),
        (Bulk.RELEASE, "claimed", ME, None),
        (Bulk.RELEASE, "claimed", OTHER, Skip.NOT_HELD),
        (Bulk.RELEASE, "open", None, Skip.NOT_HELD),
        (Bulk.RELEASE, "resolved", ME, Skip.RESOLVED),
    ],
)
def test_a_bulk_action_checks_each_item_as_the_single_action_does(
    act: Bulk, state: str, holder: int | None, expected: Skip | None
) -> None:
    assert bulk_skip(act, state, holder, ME) is expected


@pytest.mark.parametrize(
    ("touched", "expected"),
    [
        (None, False),  # never claimed
        (NOW - timedelta(minutes=14, seconds=59), False),
        (NOW - timedelta(minutes=15), True),
        (NOW - timedelta(hours=3), True),
    ],
)
def test_a_claim_lapses_after_the_setting(touched: datetime | None, expected: bool) -> None:
    assert lapsed(touched, NOW, timedelta(minutes=15)) is expected


@pytest.mark.parametrize(
    ("after", "words"),
    [
        (timedelta(minutes=15), "released: not touched for 15 min"),
        (timedelta(minutes=90), "released: not touched for 90 min"),
        (timedelta(seconds=6), "released: not touched for 1 min"),  # never "0 min"
    ],
)
def test_the_released_tag_says_for_how_long(after: timedelta, words: str) -> None:
    assert released_words(after) == words


def test_the_summary_counts_the_changed_and_names_the_rest() -> None:
    summary = Summary(Bulk.DISMISS, 3, [(12, Skip.RESOLVED)])
    assert summary.words() == "3 dismissed; 1 not changed: item #12 was already resolved"
    assert Summary(Bulk.RELEASE, 2, []).words() == "2 released"
    two = Summary(Bulk.ASSIGN, 0, [(4, Skip.NOT_MEMBER), (5, Skip.NOT_FOUND)])
    assert two.words() == (
        "0 assigned; 2 not changed: item #4 belongs to a service the colleague is not a member "
        "of, item #5 was not found in your services"
    )


def test_the_summary_round_trips_through_the_query_string() -> None:
    summary = Summary(Bulk.DISMISS, 3, [(12, Skip.RESOLVED), (40, Skip.HELD)])
    query = dict(part.split("=", 1) for part in summary.query().split("&"))
    assert summary_from(query) == summary


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"bulk": "delete", "changed": "1"},
        {"bulk": "dismiss", "changed": "lots"},
        {"bulk": "dismiss", "changed": "1", "skipped": "12:<script>"},
        {"bulk": "dismiss", "changed": "1", "skipped": "x:resolved"},
        {"bulk": "dismiss", "changed": "99999"},
    ],
)
def test_a_query_the_page_never_wrote_shows_no_banner(query: dict[str, str]) -> None:
    assert summary_from(query) is None


def test_the_ticked_ids_are_read_once_each_and_bounded() -> None:
    assert selected(["3", "1", "3"]) == [3, 1]
    assert selected([]) == []
    with pytest.raises(ValueError, match="not a number"):
        selected(["1", "1; drop"])
    with pytest.raises(ValueError, match="more than"):
        selected([str(n) for n in range(1, MAX_SELECTED + 2)])
