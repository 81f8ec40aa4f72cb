"""What a caseworker may do to a review item in each state, from a table of cases."""

from __future__ import annotations

import pytest

from inbound.review import decisions
from inbound.review.decisions import Act, Refused, refusal
from inbound.states import ReviewState

ME, OTHER = 1, 2
OPEN, CLAIMED = ReviewState.OPEN, ReviewState.CLAIMED
RESOLVED, DISMISSED = ReviewState.RESOLVED, ReviewState.DISMISSED

ALLOWED = None


@pytest.mark.parametrize(
    ("act", "state", "holder", "expected"),
    [
        (Act.CLAIM, OPEN, None, ALLOWED),
        (Act.CLAIM, CLAIMED, OTHER, "someone else has claimed this item"),
        (Act.CLAIM, CLAIMED, ME, "you already hold this item"),
        (Act.CLAIM, RESOLVED, ME, "this item is closed"),
        (Act.RELEASE, CLAIMED, ME, ALLOWED),
        (Act.RELEASE, CLAIMED, OTHER, "you don't hold this item"),
        (Act.RELEASE, OPEN, None, "you don't hold this item"),
        (Act.DECIDE, OPEN, None, ALLOWED),  # deciding straight away claims it
        (Act.DECIDE, CLAIMED, ME, ALLOWED),
        (Act.DECIDE, CLAIMED, OTHER, "someone else holds this item"),
        (Act.DECIDE, DISMISSED, ME, "this item is closed"),
        (Act.DISMISS, OPEN, None, ALLOWED),
        (Act.DISMISS, CLAIMED, ME, ALLOWED),
        (Act.DISMISS, CLAIMED, OTHER, "someone else holds this item"),
        (Act.DISMISS, RESOLVED, ME, "this item is closed"),
        (Act.REPLY, CLAIMED, ME, ALLOWED),
        (Act.REPLY, OPEN, None, "claim the item before replying"),
        (Act.REPLY, CLAIMED, OTHER, "claim the item before replying"),
        (Act.REPLY, RESOLVED, ME, "this item is closed"),
        # Notes are the record of the case: anyone who can see the item can add one, any time.
        (Act.NOTE, OPEN, None, ALLOWED),
        (Act.NOTE, CLAIMED, OTHER, ALLOWED),
        (Act.NOTE, RESOLVED, None, ALLOWED),
    ],
)
def test_refusal(act: Act, state: ReviewState, holder: int | None, expected: str | None) -> None:
    assert refusal(act, state, holder, ME) == expected


def test_every_act_that_moves_the_item_names_its_next_state() -> None:
    assert decisions.NEXT_STATE == {
        Act.CLAIM: CLAIMED,
        Act.RELEASE: OPEN,
        Act.DECIDE: RESOLVED,
        Act.DISMISS: DISMISSED,
    }


def test_check_raises_the_reason() -> None:
    with pytest.raises(Refused, match="claim the item before replying"):
        decisions.check(Act.REPLY, "open", None, ME)  # a plain string from the database


def test_a_decision_keeps_known_captures_trimmed() -> None:
    action, kept = decisions.decision(
        "report", {"details": "  lamp out on Mill Lane ", "rating": " ", "secret": "x"}
    )
    assert action == "report"
    assert kept == {"details": "lamp out on Mill Lane"}


@pytest.mark.parametrize("action", ["manual", "help", "reply", "delete", ""])
def test_only_actions_with_an_outcome_can_be_decided(action: str) -> None:
    with pytest.raises(Refused, match="unknown decision"):
        decisions.decision(action, {})


@pytest.mark.parametrize(
    ("text", "kept"),
    [("  Call us on 0300 ", "Call us on 0300"), ("x" * 918, "x" * 918)],
)
def test_reply_text(text: str, kept: str) -> None:
    assert decisions.reply_text(text) == kept


@pytest.mark.parametrize("text", ["", "   ", "x" * 919])
def test_reply_text_refused(text: str) -> None:
    with pytest.raises(Refused, match="1 to 918 characters"):
        decisions.reply_text(text)


@pytest.mark.parametrize(
    ("textable", "opted_out", "expected"),
    [
        (True, False, None),
        (True, True, "this number has opted out of texts from the service"),
        (False, False, "this sender can't receive texts (a short code or a name)"),
        (False, True, "this sender can't receive texts (a short code or a name)"),
    ],
)
def test_reply_refusal(textable: bool, opted_out: bool, expected: str | None) -> None:
    assert decisions.reply_refusal(textable, opted_out) == expected


def test_a_dismissal_needs_a_reason() -> None:
    assert decisions.dismissal("  wrong number ") == "wrong number"
    with pytest.raises(Refused, match="say why"):
        decisions.dismissal("  ")


@pytest.mark.parametrize("text", ["", "x" * 1001])
def test_note_length(text: str) -> None:
    with pytest.raises(Refused, match="1 to 1000 characters"):
        decisions.note_text(text)
