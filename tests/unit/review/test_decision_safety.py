"""A caseworker's captures checked as the rules check them, and when a decision may be undone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.review.decisions import UNDO_WINDOW, Invalid, decision, undo_refusal
from inbound.rules.reference_formats import parse

REFERENCE = (parse("[a-z]{2}[0-9]{4}"),)


@pytest.mark.parametrize("rating", ["1", "5", " 4 "])
def test_a_rating_from_1_to_5_is_kept(rating: str) -> None:
    assert decision("feedback", {"rating": rating}) == ("feedback", {"rating": rating.strip()})


@pytest.mark.parametrize("rating", ["ten", "0", "6", "10", "4.5", "four", "4/5", "-1"])
def test_any_other_rating_is_refused_naming_the_field(rating: str) -> None:
    with pytest.raises(Invalid, match="whole number from 1 to 5") as refused:
        decision("feedback", {"rating": rating})
    assert refused.value.field == "rating"


def test_a_reference_must_match_the_rules_pattern_in_full_ignoring_case() -> None:
    assert decision("report", {"reference": "AB1234"}, REFERENCE)[1] == {"reference": "AB1234"}
    for wrong in ("AB12345", "1234", "ab 1234"):
        with pytest.raises(Invalid, match="form this service's rules expect") as refused:
            decision("report", {"reference": wrong}, REFERENCE)
        assert refused.value.field == "reference"


def test_without_a_pattern_any_written_reference_is_kept() -> None:
    assert decision("report", {"reference": "whatever 1"})[1] == {"reference": "whatever 1"}


def test_an_unknown_decision_names_the_decision_field() -> None:
    with pytest.raises(Invalid) as refused:
        decision("launch", {})
    assert refused.value.field == "decision"


def test_a_control_character_names_its_field() -> None:
    with pytest.raises(Invalid) as refused:
        decision("confirm", {"details": "a\x00b"})
    assert refused.value.field == "details"


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _undo(**changes: object) -> str | None:
    values: dict[str, object] = {
        "state": "resolved",
        "decided_by": 7,
        "decided_at": NOW - timedelta(seconds=10),
        "actor": 7,
        "now": NOW,
        "changed_register": False,
        "answered_prompt": False,
    }
    values.update(changes)
    return undo_refusal(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({}, None),
        ({"state": "dismissed"}, None),
        ({"decided_at": NOW - UNDO_WINDOW}, None),
        ({"decided_at": NOW - UNDO_WINDOW - timedelta(seconds=1)}, "within 30 seconds"),
        ({"actor": 8}, "only the caseworker who decided it"),
        ({"state": "claimed", "decided_at": None}, "no decision to undo"),
        ({"changed_register": True}, "opt-out register"),
        ({"answered_prompt": True}, "answer to a reminder"),
    ],
)
def test_when_a_decision_may_be_undone(changes: dict[str, object], why: str | None) -> None:
    refusal = _undo(**changes)
    if why is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert why in refusal
