"""What a caseworker may do to a review item in each state, from a table of cases."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from inbound.review import decisions
from inbound.review.decisions import Act, Invalid, Refused, ReplyRoom, refusal
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
        # Decide first, then reply: the caseworker who closed it may still text the sender.
        (Act.REPLY, RESOLVED, ME, ALLOWED),
        (Act.REPLY, DISMISSED, ME, ALLOWED),
        (Act.REPLY, RESOLVED, OTHER, "only the caseworker who closed this item can reply"),
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
    [
        ("  Call us on 0300 ", "Call us on 0300"),
        ("x" * 918, "x" * 918),  # six GSM-7 segments of 153
        ("ŵ" * 402, "ŵ" * 402),  # six UCS-2 segments of 67
        ("😀" * 201, "😀" * 201),  # an emoji is two UTF-16 units
        ("line one\nline two\tend", "line one\nline two\tend"),
        ("שלום \u202eevil", "שלום \u202eevil"),  # bidi controls are shown isolated, not refused
    ],
)
def test_reply_text(text: str, kept: str) -> None:
    assert decisions.reply_text(text) == kept


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "write the reply first"),
        ("   ", "write the reply first"),
        ("x" * 919, "would be 7 texts: shorten it to 918 characters"),
        ("€" * 460, "would be 7 texts"),  # € takes two septets
        ("ŵ" * 403, "would be 7 texts: 'ŵ' is outside the basic SMS alphabet"),
        ("😀" * 202, "shorten it to 402 characters"),
        # The audit's 918-character reply with one emoji in it: 14 segments, not 6.
        ("x" * 917 + "😀", "would be 14 texts"),
        ("hello\x00", "control character \\(U\\+0000\\)"),
        ("hello\x1b[31m", "control character \\(U\\+001B\\)"),
    ],
)
def test_reply_text_refused(text: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        decisions.reply_text(text)


NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("cap", "sent", "recent", "left", "next_at"),
    [
        (5, 0, [], 5, None),
        (5, 4, [], 1, None),  # under the cap the times aren't needed, nor loaded
        (5, 5, [ago(50), ago(10), ago(40), ago(30), ago(20)], 0, ago(50) + timedelta(hours=1)),
        # Seven in the hour (automatic replies counted too): three must age out first.
        (5, 7, [ago(m) for m in (55, 50, 45, 5, 4, 3, 2)], 0, ago(45) + timedelta(hours=1)),
        (0, 0, [], 0, None),  # replies turned off: never
    ],
)
def test_reply_room(
    cap: int, sent: int, recent: list[datetime], left: int, next_at: datetime | None
) -> None:
    room = decisions.reply_room(cap, sent, recent)
    assert (room.left, room.next_at) == (left, next_at)


FULL = ReplyRoom(cap=5, sent=5, next_at=NOW + timedelta(minutes=23))
ROOM = ReplyRoom(cap=5, sent=2, next_at=None)


@pytest.mark.parametrize(
    ("textable", "opted_out", "room", "expected"),
    [
        (True, False, ROOM, None),
        (True, True, ROOM, "this number has opted out of texts from the service"),
        (False, False, ROOM, "this sender can't receive texts (a short code or a name)"),
        (False, True, ROOM, "this sender can't receive texts (a short code or a name)"),
        (
            True,
            False,
            FULL,
            "this number has had 5 texts from the service in the last hour (automatic replies "
            "included) and 5 is the most allowed: you can reply again at 14:23 UTC, in 23 min",
        ),
        (
            True,
            False,
            ReplyRoom(cap=0, sent=0, next_at=None),
            "replies by text are turned off here (INBOUND_CASEWORKER_REPLY_CAP_PER_HOUR is 0)",
        ),
    ],
)
def test_reply_refusal(
    textable: bool, opted_out: bool, room: ReplyRoom, expected: str | None
) -> None:
    assert decisions.reply_refusal(textable, opted_out, room, NOW) == expected


def test_a_dismissal_needs_a_reason() -> None:
    assert decisions.dismissal("  wrong number ") == "wrong number"
    with pytest.raises(Invalid, match="say why"):
        decisions.dismissal("  ")


def test_a_dismissal_reason_fits_where_it_is_kept() -> None:
    assert decisions.dismissal("x" * 500) == "x" * 500
    with pytest.raises(Invalid, match="shorten the reason to 500 characters"):
        decisions.dismissal("x" * 501)


@pytest.mark.parametrize("text", ["", "x" * 1001])
def test_note_length(text: str) -> None:
    with pytest.raises(Invalid, match="1 to 1000 characters"):
        decisions.note_text(text)


@pytest.mark.parametrize(
    ("write", "text", "found"),
    [
        (decisions.note_text, "ok\x00", "U+0000"),
        (decisions.note_text, "bell\x07", "U+0007"),
        (decisions.note_text, "del\x7f", "U+007F"),
        (decisions.note_text, "c1\x85", "U+0085"),
        (decisions.note_text, "lone \ud800 surrogate", "U+D800"),
        (decisions.dismissal, "spam\x00", "U+0000"),
    ],
)
def test_text_no_person_types_is_refused(
    write: Callable[[str], str], text: str, found: str
) -> None:
    with pytest.raises(Invalid, match=re.escape(found)):
        write(text)


def test_a_capture_with_a_control_character_is_refused() -> None:
    with pytest.raises(Invalid, match="the details field contains a control character"):
        decisions.decision("report", {"details": "lamp\x00"})


@pytest.mark.parametrize("text", ["tab\tand\r\nbreaks", "ünïcödé ✓", "RTL \u202e override"])
def test_what_people_do_type_is_kept(text: str) -> None:
    assert decisions.note_text(text) == text


def test_input_problems_are_refusals_the_api_answers_as_invalid() -> None:
    assert issubclass(Invalid, Refused)
