"""Replaying stored replies with the prompts their senders had been sent. Pure: tables."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from inbound.prompts.model import Prompt, PromptState
from inbound.rules.model import Action, ServiceRules
from inbound.rules.prompt_settings import WithoutPrompt
from inbound.rules.replay import REPEAT, REVIEW, as_of, replay
from inbound.store.history import PastMessage

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ALICE = "+447700900123"
BOB = "+447700900456"
CAROL = "+447700900789"


@dataclass(frozen=True)
class Stored:
    """A stored prompt as the store hands it out (StoredPrompt's shape)."""

    prompt: Prompt
    answer_message_id: int | None = None


def prompt(
    reference: str,
    to: str = ALICE,
    expects: frozenset[Action] = frozenset({Action.confirm}),
    sent: timedelta = timedelta(0),
) -> Prompt:
    return Prompt(
        service="appointments",
        recipient=to,
        reference=reference,
        expects=expects,
        sent_at=T0 + sent,
        expires_at=T0 + sent + timedelta(days=10),
    )


def answered(one: Prompt, action: Action, at: timedelta, by: int) -> Stored:
    return Stored(one.answered(action, T0 + at), by)


def past(
    index: int, text: str | None, fate: str, at: timedelta, sender: str = ALICE
) -> PastMessage:
    action = None if fate in (REVIEW, REPEAT) else fate
    return PastMessage(
        id=index,
        provider="generic",
        provider_message_id=f"m{index}",
        sender=sender,
        text=text,
        received_at=T0 + at,
        status="processed" if action else fate,
        action=action,
        rule=action,
        review_reason="no rule matched" if fate == REVIEW else None,
    )


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("stored", "message", "at", "state"),
    [
        # Answered by this very reply: open when it arrived, so the replay doesn't call the
        # reply a repeat of itself.
        (answered(prompt("a"), Action.confirm, HOUR, by=7), 7, HOUR, PromptState.OPEN),
        # Answered by a later reply: open then too.
        (answered(prompt("a"), Action.confirm, 2 * HOUR, by=8), 7, HOUR, PromptState.OPEN),
        # Answered by an earlier reply: answered when this one arrived.
        (answered(prompt("a"), Action.confirm, HOUR, by=6), 7, 2 * HOUR, PromptState.ANSWERED),
        # Answered at the same second by another reply: kept, as the worker saw it.
        (answered(prompt("a"), Action.confirm, HOUR, by=6), 7, HOUR, PromptState.ANSWERED),
        (Stored(prompt("a")), 7, HOUR, PromptState.OPEN),
        (Stored(prompt("a").withdrawn()), 7, HOUR, PromptState.WITHDRAWN),
    ],
)
def test_prompts_are_taken_as_they_stood_when_the_reply_arrived(
    stored: Stored, message: int, at: timedelta, state: PromptState
) -> None:
    (found,) = as_of([stored], message, T0 + at)
    assert found.state is state
    assert (found.answer is None) == (state is not PromptState.ANSWERED)
    assert found.key == stored.prompt.key


def test_replay_decides_each_reply_with_its_senders_prompts(
    example_rules: ServiceRules,
) -> None:
    appt1 = prompt("appt-1")
    appt2 = prompt("appt-2", to=BOB)
    late = prompt("appt-3", to=CAROL, sent=3 * HOUR)  # sent after Carol's reply
    prompts = {
        ALICE: [answered(appt1, Action.confirm, HOUR, by=1)],
        BOB: [Stored(appt2)],
        CAROL: [Stored(late)],
    }
    history = [
        past(1, "Yes", "confirm", HOUR),  # answered appt-1: still confirm, not a repeat
        past(2, "OK", "cancel", 2 * HOUR),  # OK is confirm now: the same answer again
        past(3, "cancle", REVIEW, HOUR, BOB),  # cancel now, but appt-2 expects only confirm
        past(4, "cancle", REVIEW, HOUR, CAROL),  # Carol's reminder came after: cancel
        past(5, "👍", REVIEW, HOUR, "+447700900999"),  # no prompts: confirm
        past(6, None, REVIEW, HOUR, BOB),  # purged
    ]
    summary = replay(example_rules, history, prompts)
    assert (summary.replayed, summary.purged) == (5, 1)
    assert (summary.with_prompts, summary.changed_by_prompts) == (3, 2)
    assert (summary.repeats_before, summary.repeats_after) == (0, 1)
    assert (summary.automatic_before, summary.automatic_after) == (2, 3)
    assert (summary.newly_automatic, summary.newly_review, summary.different_action) == (2, 0, 0)
    assert [(c.message.id, c.before, c.now) for c in summary.changes] == [
        (2, "cancel", REPEAT),
        (4, REVIEW, "cancel"),
        (5, REVIEW, "confirm"),
    ]
    repeat = summary.changes[0].after
    assert repeat.prompt is not None
    assert repeat.prompt.reference == "appt-1"


def test_a_stored_repeat_that_repeats_again_is_unchanged(example_rules: ServiceRules) -> None:
    appt1 = prompt("appt-1")
    prompts = {ALICE: [answered(appt1, Action.confirm, HOUR, by=1)]}
    history = [past(1, "yes", "confirm", HOUR), past(2, "yes!", REPEAT, 2 * HOUR)]
    summary = replay(example_rules, history, prompts)
    assert summary.changes == []
    assert (summary.repeats_before, summary.repeats_after) == (1, 1)
    assert (summary.automatic_before, summary.automatic_after) == (1, 1)


def test_without_prompts_replay_decides_by_the_rules_alone(example_rules: ServiceRules) -> None:
    history = [past(1, "cancle", REVIEW, HOUR)]
    summary = replay(example_rules, history)
    assert summary.with_prompts == 0
    assert [(c.before, c.now) for c in summary.changes] == [(REVIEW, "cancel")]


def test_a_service_that_reviews_replies_without_prompts_is_replayed_so(
    example_rules: ServiceRules,
) -> None:
    reviews = example_rules.model_copy(
        update={"prompts": replace(example_rules.prompts, without_prompt=WithoutPrompt.REVIEW)}
    )
    summary = replay(reviews, [past(1, "yes", "confirm", HOUR)])
    assert [(c.before, c.now) for c in summary.changes] == [("confirm", REVIEW)]
    assert "no reminder asked this number" in (summary.changes[0].after.review_reason or "")
