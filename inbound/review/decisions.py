"""What a caseworker may do to a review item, and what it changes. Pure.

The desk (`review/desk.py`) loads the item, asks here, and writes. Its SQL updates repeat the
state condition so that two caseworkers acting at once can't both succeed; the reasons given
here are what a person is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from inbound.actions.effects import CALLBACK_ACTIONS
from inbound.states import ReviewState

DECISIONS = tuple(sorted(CALLBACK_ACTIONS))
CAPTURES = ("details", "reference", "rating")
MAX_TEXT = 1000
MAX_REPLY = 918  # six SMS segments


class Refused(Exception):
    """The action can't be done in the item's current state; the message says why."""


class Act(StrEnum):
    """What a caseworker does to an item."""

    CLAIM = "claim"
    RELEASE = "release"
    DECIDE = "decide"
    DISMISS = "dismiss"
    REPLY = "reply"
    NOTE = "note"


# The state each act leaves the item in; reply and note leave it as it is.
NEXT_STATE: Mapping[Act, ReviewState] = {
    Act.CLAIM: ReviewState.CLAIMED,
    Act.RELEASE: ReviewState.OPEN,
    Act.DECIDE: ReviewState.RESOLVED,
    Act.DISMISS: ReviewState.DISMISSED,
}


def refusal(act: Act, state: str, holder: int | None, actor: int) -> str | None:
    """Why `actor` may not do `act` to an item in `state` held by `holder`; None when they may."""
    held_by_actor = state == ReviewState.CLAIMED and holder == actor
    held_by_other = state == ReviewState.CLAIMED and holder != actor
    closed = state not in (ReviewState.OPEN, ReviewState.CLAIMED)
    if act is Act.NOTE:
        return None
    if closed:
        return "this item is closed"
    if act is Act.CLAIM:
        if held_by_actor:
            return "you already hold this item"
        return "someone else has claimed this item" if held_by_other else None
    if act is Act.RELEASE:
        return None if held_by_actor else "you don't hold this item"
    if act is Act.REPLY:
        return None if held_by_actor else "claim the item before replying"
    return "someone else holds this item" if held_by_other else None


def check(act: Act, state: str, holder: int | None, actor: int) -> None:
    """Raise Refused with the reason when `refusal` gives one."""
    reason = refusal(act, state, holder, actor)
    if reason is not None:
        raise Refused(reason)


def decision(action: str, captures: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """A caseworker's decision, checked: a known action and the captures kept, trimmed."""
    if action not in DECISIONS:
        raise Refused(f"unknown decision {action!r}")
    kept = {k: v.strip()[:MAX_TEXT] for k, v in captures.items() if k in CAPTURES and v.strip()}
    return action, kept


def reply_text(text: str) -> str:
    """A caseworker's reply, trimmed, within what a few texts can carry."""
    text = text.strip()
    if not text or len(text) > MAX_REPLY:
        raise Refused(f"write a reply of 1 to {MAX_REPLY} characters")
    return text


def reply_refusal(can_receive_texts: bool, opted_out: bool) -> str | None:
    """Why the sender may not be texted; None when they may."""
    if not can_receive_texts:
        return "this sender can't receive texts (a short code or a name)"
    if opted_out:
        return "this number has opted out of texts from the service"
    return None


def dismissal(reason: str) -> str:
    """The reason a caseworker gives for dismissing an item, trimmed; required."""
    reason = reason.strip()
    if not reason:
        raise Refused("say why you are dismissing it")
    return reason


def note_text(text: str) -> str:
    """A caseworker's note, trimmed, of a sensible length."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise Refused(f"write a note of 1 to {MAX_TEXT} characters")
    return text
