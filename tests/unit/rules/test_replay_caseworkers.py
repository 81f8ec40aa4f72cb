"""`rules replay` counts caseworkers' decisions apart from the rules' automatic outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbound.rules.load import load_file
from inbound.rules.replay import REVIEW, fate, replay
from inbound.store.history import PastMessage
from tests.unit.rules.conftest import EXAMPLE


def past(text: str, action: str | None, decided: str | None = None, index: int = 0) -> PastMessage:
    """A stored reply: `action` the rules' automatic outcome; `decided` a caseworker's."""
    return PastMessage(
        id=index,
        provider="generic",
        provider_message_id=f"m{index}",
        sender="+447700900123",
        text=text,
        received_at=datetime(2026, 11, 28, tzinfo=UTC),
        status="processed" if action else "review",
        action=action,
        rule=action,
        review_reason=None if action else "no rule matched",
        decided=decided,
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (past("yes", "confirm"), "confirm"),  # the rules acted
        (past("maybe", None), REVIEW),  # waiting for a person
        (past("maybe", None, "cancel"), REVIEW),  # a person decided: not automatic
        (past("maybe", None, "dismissed"), REVIEW),
        # Whatever a store says of the outcome, a caseworker's decision is no automatic one.
        (past("maybe", "cancel", "cancel"), REVIEW),
    ],
)
def test_fate_of_a_caseworkers_decision_is_review(message: PastMessage, expected: str) -> None:
    assert fate(message) == expected


def test_replay_counts_caseworkers_decisions_apart() -> None:
    history = [
        past("yes", "confirm", index=1),  # automatic, unchanged
        past("yesss", None, "confirm", 2),  # a caseworker confirmed; the rules now do too
        past("cancle", None, "change", 3),  # a caseworker chose change; the rules cancel
        past("can I come at 3?", None, "dismissed", 4),  # dismissed; still a person's
        past("👍", None, "dismissed", 5),  # dismissed; the rules now confirm
        past("what?", None, index=6),  # open review item
    ]
    summary = replay(load_file(EXAMPLE), history)
    assert summary.automatic_before == 1  # only the rules' own outcome
    assert (summary.caseworker_decided, summary.caseworker_dismissed) == (2, 2)
    assert (summary.as_caseworkers, summary.unlike_caseworkers) == (1, 2)
    assert summary.newly_automatic == 3
    assert summary.different_action == 0
    assert [change.message.id for change in summary.changes] == [2, 3, 5]
    assert all(change.before == REVIEW for change in summary.changes)
