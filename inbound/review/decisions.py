"""What a caseworker may do to a review item, and what it changes. Pure.

The desk (`review/desk.py`) loads the item, asks here, and writes. Its SQL updates repeat the
state condition so that two caseworkers acting at once can't both succeed; the reasons given
here are what a person is told.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from inbound.actions.effects import CALLBACK_ACTIONS
from inbound.rules.reference_formats import Reference
from inbound.sms_length import Encoding, capacity, first_outside_gsm, measure
from inbound.states import ReviewState

DECISIONS = tuple(sorted(CALLBACK_ACTIONS))
CAPTURES = ("details", "reference", "rating")
MAX_TEXT = 1000
MAX_REASON = 500  # review_items.decision_note holds the dismissal reason
# Six segments, GOV.UK Notify's own limit for a text message: 918 characters in the GSM
# alphabet, 402 when any character (an emoji, a Welsh ŵ) makes it UCS-2. Counted in segments,
# since that is what a reply costs and what the phone joins; a character limit alone let 918
# emoji through as 28 segments.
MAX_REPLY_SEGMENTS = 6
MAX_REPLY = capacity(Encoding.GSM7, MAX_REPLY_SEGMENTS)
MAX_REPLY_UCS2 = capacity(Encoding.UCS2, MAX_REPLY_SEGMENTS)
REPLY_WINDOW = timedelta(hours=1)
# C0 and C1 controls other than tab and line breaks, and DEL: none is typed by a person, and
# PostgreSQL refuses NUL in text. Lone surrogates are refused too (they can't be stored as
# UTF-8). Written as \u escapes, which Python's re and JSON Schema's patterns both read.
_CONTROLS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_CONTROL = re.compile(rf"[{_CONTROLS}\ud800-\udfff]")
WRITTEN_PATTERN = f"^[^{_CONTROLS}]*$"  # the OpenAPI document's pattern for written text


class Refused(Exception):
    """The action can't be done in the item's current state; the message says why."""


class Invalid(Refused):
    """What was written can't be accepted (empty, too long, a control character); the message
    says how to put it right, and `field`, when set, names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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
    if act is Act.REPLY and closed:
        # Decide first, then reply: the caseworker who closed it may still text the sender.
        return None if holder == actor else "only the caseworker who closed this item can reply"
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


def decision(
    action: str, captures: Mapping[str, str], references: Sequence[Reference] = ()
) -> tuple[str, dict[str, str]]:
    """A caseworker's decision, checked: a known action and the captures kept, trimmed, each
    as the rules check it (a rating from 1 to 5; a reference accepted by one of `references`,
    those of the service's rules for this action when there are any, kept in its normal form:
    a postcode as 'SW1A 1AA')."""
    if action not in DECISIONS:
        raise Invalid(
            f"unknown decision {action[:40]!r}: choose one of {', '.join(DECISIONS)}", "decision"
        )
    kept = {}
    for name, value in captures.items():
        if name in CAPTURES and value.strip():
            kept[name] = _written(value, f"{name} field", name).strip()[:MAX_TEXT]
    rating = kept.get("rating")
    if rating is not None and not _RATING.fullmatch(rating):
        raise Invalid("enter the rating as a whole number from 1 to 5, like 4", "rating")
    reference = kept.get("reference")
    if reference is not None and references:
        accepted = next(
            (found for ref in references if (found := ref.accept(reference)) is not None), None
        )
        if accepted is None:
            raise Invalid(_reference_help(references), "reference")
        kept["reference"] = accepted
    return action, kept


def _reference_help(references: Sequence[Reference]) -> str:
    """How to write a reference this service's rules accept."""
    if all(ref.kind == "regex" for ref in references):
        # Unchanged wording for patterns: the pattern is the only description there is.
        wanted = " or ".join(ref.pattern.pattern for ref in references)
        return f"enter the reference in the form this service's rules expect (a match for {wanted})"
    return "enter the reference as " + " or as ".join(
        dict.fromkeys(ref.description for ref in references)
    )


_RATING = re.compile(r"[1-5]")
# How long a caseworker may undo a decision: its callback and reply are held back this long.
UNDO_WINDOW = timedelta(seconds=30)


def undo_refusal(
    *,
    state: str,
    decided_by: int | None,
    decided_at: datetime | None,
    actor: int,
    now: datetime,
    changed_register: bool,
    answered_prompt: bool,
) -> str | None:
    """Why `actor` may not undo the item's decision now; None when they may. What was sent is
    checked afterwards, against the actions themselves."""
    if state not in (ReviewState.RESOLVED, ReviewState.DISMISSED) or decided_at is None:
        return "this item has no decision to undo"
    if decided_by != actor:
        return "only the caseworker who decided it can undo it"
    if now - decided_at > UNDO_WINDOW:
        seconds = int(UNDO_WINDOW.total_seconds())
        return f"a decision can only be undone within {seconds} seconds, and that has passed"
    if changed_register:
        return "it changed the opt-out register, which takes effect at once"
    if answered_prompt:
        return "it recorded the answer to a reminder"
    return None


@dataclass(frozen=True)
class ReplyRoom:
    """The texts a number has had from the service in the last hour, against the cap on a
    caseworker's replies."""

    cap: int  # replies a number may get in an hour (INBOUND_CASEWORKER_REPLY_CAP_PER_HOUR)
    sent: int  # replies in the last hour, automatic ones included
    next_at: datetime | None  # when the cap lets another go; None while there is room

    @property
    def left(self) -> int:
        """Replies that may still be sent this hour."""
        return max(self.cap - self.sent, 0)


def reply_room(cap: int, sent: int, recent: Sequence[datetime]) -> ReplyRoom:
    """The room under the cap, from the count of the last hour's replies and, when at the cap,
    their times (any order): the next reply may go once enough of them are an hour old."""
    if sent < cap or cap == 0:
        return ReplyRoom(cap, sent, None)
    oldest_first = sorted(recent)
    # With `sent` replies in the window and room for `cap`, the (sent - cap + 1)th oldest must
    # leave it before another fits.
    index = sent - cap
    next_at = oldest_first[index] + REPLY_WINDOW if index < len(oldest_first) else None
    return ReplyRoom(cap, sent, next_at)


def reply_text(text: str, field: str | None = None) -> str:
    """A caseworker's reply, trimmed, within six SMS segments whatever its alphabet; `field`
    names the form field for the error summary."""
    text = _written(text, "reply", field).strip()
    if not text:
        raise Invalid("write the reply first", field)
    length = measure(text)
    if length.segments <= MAX_REPLY_SEGMENTS:
        return text
    if length.encoding is Encoding.GSM7:
        raise Invalid(
            f"the reply would be {length.segments} texts: shorten it to {MAX_REPLY} characters "
            f"({MAX_REPLY_SEGMENTS} texts; € [ ] {{ }} ^ ~ \\ | count as two)",
            field,
        )
    unusual = first_outside_gsm(text)
    raise Invalid(
        f"the reply would be {length.segments} texts: {unusual!r} is outside the basic SMS "
        f"alphabet, so each text carries 67 characters (an emoji counts as two): shorten it to "
        f"{MAX_REPLY_UCS2} characters, or to {MAX_REPLY} without {unusual!r} and characters "
        "like it",
        field,
    )


def reply_choice(
    canned: str,
    text: str,
    offered: Mapping[str, str | None],
    canned_only: bool,
    canned_field: str = "canned",
) -> str | None:
    """The reply a caseworker chose: their own `text` when they wrote one (a picked reply they
    edited is their words), else the canned reply named `canned`, filled; None when neither.
    `offered`: each canned reply's filled text, None when this item can't fill it. When the
    service allows only canned replies, any other text is refused. `canned_field`: the form
    field of the canned choice, for the error summary."""
    if canned and offered.get(canned) is None:
        raise Invalid(f"{CHOOSE_CANNED}: {canned[:40]!r} isn't one of them", canned_field)
    filled = offered.get(canned) if canned else None
    if text.strip():
        if canned_only and text.strip() not in {t.strip() for t in offered.values() if t}:
            raise Invalid(
                "this service lets caseworkers send only its canned replies: pick one of them",
                canned_field,
            )
        return text
    return filled


CHOOSE_CANNED = "select one of the canned replies on the page"


def reply_refusal(
    can_receive_texts: bool, opted_out: bool, room: ReplyRoom, now: datetime
) -> str | None:
    """Why the sender may not be texted now; None when they may."""
    if not can_receive_texts:
        return "this sender can't receive texts (a short code or a name)"
    if opted_out:
        return "this number has opted out of texts from the service"
    if room.cap == 0:
        return "replies by text are turned off here (INBOUND_CASEWORKER_REPLY_CAP_PER_HOUR is 0)"
    if room.left > 0:
        return None
    when = room.next_at if room.next_at is not None and room.next_at > now else now
    minutes = max(1, math.ceil((when - now).total_seconds() / 60))
    return (
        f"this number has had {room.sent} texts from the service in the last hour (automatic "
        f"replies included) and {room.cap} is the most allowed: you can reply again at "
        f"{when:%H:%M} UTC, in {minutes} min"
    )


def dismissal(reason: str) -> str:
    """The reason a caseworker gives for dismissing an item, trimmed; required."""
    reason = _written(reason, "reason")
    if not reason.strip():
        raise Invalid("say why you are dismissing it")
    if len(reason) > MAX_REASON:
        raise Invalid(f"shorten the reason to {MAX_REASON} characters (it has {len(reason)})")
    return reason.strip()


def note_text(text: str) -> str:
    """A caseworker's note, trimmed, of a sensible length."""
    text = _written(text, "note")
    if not text.strip() or len(text) > MAX_TEXT:
        raise Invalid(f"write a note of 1 to {MAX_TEXT} characters")
    return text.strip()


def control_character(text: str) -> str | None:
    """The first character no person types (a control character, a lone surrogate), as
    U+XXXX; None when there is none. Tab and line breaks are allowed."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _written(text: str, what: str, field: str | None = None) -> str:
    found = control_character(text)
    if found is not None:
        raise Invalid(f"the {what} contains a control character ({found}): remove it", field)
    return text


def reply_length(text: str) -> str:
    """How many texts `text` goes as, and why, for the reply box's segment line (the item
    page's `sms-segments.js` writes the same words as the caseworker types)."""
    text = text.strip()
    length = measure(text)
    texts = f"{length.segments} text{'' if length.segments == 1 else 's'}"
    if length.encoding is Encoding.GSM7:
        return (
            f"Sends as {texts}. Basic SMS alphabet: 160 characters fit in one text, 153 in "
            "each when it is split."
        )
    return (
        f"Sends as {texts}. '{first_outside_gsm(text)}' is outside the basic SMS alphabet: 70 "
        f"characters fit in one text, 67 in each when it is split: {MAX_REPLY_UCS2} at most, "
        "whatever the count above says."
    )
