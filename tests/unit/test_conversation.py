"""The conversation of a (service, number), built from plain values: order, kinds, who sent what,
prompt references, placeholders for purged text, the bound, and the open prompts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inbound.conversation import (
    Conversation,
    DecisionFact,
    EntryKind,
    MessageFact,
    OutcomeFact,
    PromptFact,
    ReplyFact,
    build,
    caseworker_token,
    sent_by_caseworker,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def prompt(id: int = 1, minutes: int = 0, **changes: Any) -> PromptFact:
    values: dict[str, Any] = {
        "id": id,
        "reference": f"appt-{id}",
        "expects": ("cancel", "confirm"),
        "sent_at": at(minutes),
        "expires_at": at(minutes + 60 * 24),
        "text": "Reply YES or CANCEL",
        "state": "open",
    }
    values.update(changes)
    return PromptFact(**values)


def received(id: int, minutes: int, text: str | None = "YES", **changes: Any) -> MessageFact:
    return MessageFact(id, at(minutes), at(minutes), text, **changes)


def thread(**given: Any) -> Conversation:
    values: dict[str, Any] = {
        "prompts": [],
        "messages": [],
        "replies": [],
        "outcomes": [],
        "decisions": [],
        "open_prompts": [],
        "users": {7: "case@alpha.example"},
        "now": at(120),
    }
    values.update(given)
    return build(**values)


def test_a_reminder_its_answer_the_outcome_and_the_automatic_reply_read_in_that_order() -> None:
    sent = prompt()
    conversation = thread(
        prompts=[sent],
        # Given out of order, and the outcome and reply stamped the same moment as the message:
        # the thread still reads question, answer, outcome, reply.
        replies=[ReplyFact(9, 2, "alpha:2:reply:confirmed", at(5), "delivered", "Thanks")],
        outcomes=[OutcomeFact(2, "confirm", "confirmed", at(5))],
        messages=[received(2, 5, prompt_id=1, prompt_match="answers appt-1")],
        open_prompts=[sent],
    )
    kinds = [entry.kind for entry in conversation.entries]
    assert kinds == [
        EntryKind.PROMPT,
        EntryKind.RECEIVED,
        EntryKind.OUTCOME,
        EntryKind.AUTO_REPLY,
    ]
    question, answer, outcome, reply = conversation.entries
    assert (question.text, question.reference, question.expects) == (
        "Reply YES or CANCEL",
        "appt-1",
        ("cancel", "confirm"),
    )
    assert (answer.reference, answer.note) == ("appt-1", "answers appt-1")
    assert (outcome.action, outcome.rule, outcome.reference) == ("confirm", "confirmed", "appt-1")
    assert (reply.text, reply.delivery, reply.rule, reply.by) == (
        "Thanks",
        "delivered",
        "confirmed",
        None,
    )
    assert not conversation.more


@pytest.mark.parametrize(
    ("key", "kind", "by"),
    [
        ("alpha:3:reply:confirmed", EntryKind.AUTO_REPLY, None),
        (f"alpha:3:reply:caseworker:{caseworker_token(7, 'ab12')}", EntryKind.CASEWORKER_REPLY, 7),
        # Sent before keys named the caseworker: still a caseworker's, by someone unknown.
        ("alpha:3:reply:caseworker:0123abcd", EntryKind.CASEWORKER_REPLY, None),
        # A caseworker who no longer exists: a caseworker's, by no one we can name.
        (f"alpha:3:reply:caseworker:{caseworker_token(99, 'ff')}", EntryKind.CASEWORKER_REPLY, 99),
    ],
)
def test_who_sent_a_reply_is_read_from_its_key(key: str, kind: EntryKind, by: int | None) -> None:
    assert sent_by_caseworker(key) == (kind is EntryKind.CASEWORKER_REPLY, by)
    (entry,) = thread(replies=[ReplyFact(1, 3, key, at(1), "pending", "hi")]).entries
    assert entry.kind is kind
    assert entry.by == ("case@alpha.example" if by == 7 else None)


@pytest.mark.parametrize(
    ("state", "note", "shown_note"),
    [
        ("delivered", None, None),
        ("pending", "timeout", None),  # a retry under way: not a reason to show yet
        # A failure is said in words (undelivered_words): a raw error that may quote the
        # number is never repeated (`inbound trace` has it); Notify's own words are quoted.
        (
            "failed",
            "400 +447700900123 is not valid",
            "The text could not be delivered, once, for a reason not described in words here.",
        ),
        (
            "failed",
            "Notify answered HTTP 400: Can’t send to this recipient using a team-only API key",
            "GOV.UK Notify refused the text (HTTP 400), once. Notify said: “Can’t send to this "
            "recipient using a team-only API key”",
        ),
        ("suppressed", "number opted out", "number opted out"),
    ],
)
def test_a_reply_says_whether_it_was_delivered_and_why_not(
    state: str, note: str | None, shown_note: str | None
) -> None:
    reply = ReplyFact(1, 3, "alpha:3:reply:confirmed", at(1), state, "Thanks", note, attempts=1)
    (entry,) = thread(replies=[reply]).entries
    assert (entry.delivery, entry.note) == (state, shown_note)


@pytest.mark.parametrize(
    ("kind", "given", "shown"),
    [
        (EntryKind.PROMPT, {"prompts": [prompt(text=None)]}, "text not stored"),
        (EntryKind.PROMPT, {"prompts": [prompt(text="")]}, "text not stored"),
        (EntryKind.RECEIVED, {"messages": [received(1, 1, None)]}, "text purged"),
        (
            EntryKind.AUTO_REPLY,
            {"replies": [ReplyFact(1, 1, "s:1:reply:r", at(1), "delivered", None)]},
            "text purged",
        ),
    ],
)
def test_text_not_stored_or_purged_is_said_so(
    kind: EntryKind, given: dict[str, Any], shown: str
) -> None:
    (entry,) = thread(**given).entries
    assert (entry.kind, entry.text, entry.missing_text) == (kind, None, shown)


def test_a_caseworker_decision_names_who_and_replaces_its_caseworker_outcome() -> None:
    conversation = thread(
        prompts=[prompt()],
        messages=[received(2, 5, "yes but later?", prompt_id=1, item_id=40, item_state="resolved")],
        outcomes=[OutcomeFact(2, "change", "caseworker", at(30))],
        decisions=[DecisionFact(40, 2, "change", at(30), 7, None)],
    )
    kinds = [entry.kind for entry in conversation.entries]
    assert kinds == [EntryKind.PROMPT, EntryKind.RECEIVED, EntryKind.DECISION]
    decision = conversation.entries[-1]
    assert (decision.action, decision.by, decision.item_id, decision.reference) == (
        "change",
        "case@alpha.example",
        40,
        "appt-1",
    )


def test_a_dismissal_keeps_its_reason() -> None:
    conversation = thread(
        messages=[received(2, 5, "who is this?", item_id=41)],
        decisions=[DecisionFact(41, 2, "dismissed", at(9), 7, "answered by text")],
    )
    assert conversation.entries[-1].note == "answered by text"


def test_a_reply_matched_to_an_old_prompt_still_names_its_reference() -> None:
    old = prompt(5, minutes=-60 * 24 * 400, state="answered", answer_action="confirm")
    conversation = thread(messages=[received(2, 5, prompt_id=5)], referenced=[old])
    (entry,) = conversation.entries  # the old prompt names the reply's; it is not an entry
    assert entry.reference == "appt-5"


def test_only_the_newest_entries_are_kept_and_the_rest_is_said() -> None:
    messages = [received(n, n, f"message {n}") for n in range(1, 11)]
    conversation = thread(messages=messages, limit=4)
    assert [entry.text for entry in conversation.entries] == [
        "message 7",
        "message 8",
        "message 9",
        "message 10",
    ]
    assert conversation.more
    assert not thread(messages=messages, limit=10).more
    # The loader read fewer than there are: it says so even when they all fit.
    assert thread(messages=messages, limit=10, truncated=True).more


def test_open_prompts_soonest_to_expire_first_and_expired_ones_last() -> None:
    now = at(0)
    conversation = thread(
        open_prompts=[
            prompt(1, expires_at=at(-5)),
            prompt(2, expires_at=at(600)),
            prompt(3, expires_at=at(60)),
            prompt(4, state="answered"),
        ],
        now=now,
    )
    shown = [(p.reference, p.expired) for p in conversation.open_prompts]
    assert shown == [("appt-3", False), ("appt-2", False), ("appt-1", True)]
    assert conversation.entries == ()


def test_a_withdrawn_or_answered_prompt_says_so() -> None:
    conversation = thread(
        prompts=[
            prompt(1, state="withdrawn"),
            prompt(2, minutes=1, state="answered", answer_action="cancel"),
        ]
    )
    first, second = conversation.entries
    assert (first.note, second.note, second.action) == ("withdrawn", "answered", "cancel")
