"""Deciding stored messages again with a new rule file, and what would change. Pure.

`inbound rules replay` reads the history (and the prompts the service sent each sender) from the
database and prints the summary; this module only decides and compares, so it is tested from
tables of past messages and prompts.

Each reply is decided as the rules worker decides it (`inbound.outcome.route`), with the prompts
as they stood when the reply arrived: an answer recorded later, or given by the reply itself, is
undone (`as_of`). Each reply is decided alone: an answer the new rules would give one reply is
not carried forward to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from inbound.message import InboundMessage
from inbound.outcome import Route, Status, route
from inbound.prompts.model import Prompt, PromptState
from inbound.rules.compiled import CompiledRules
from inbound.rules.model import RuleBook, ServiceRules

REVIEW = "review"
REPEAT = "repeat"  # the same answer to a prompt again: stored, nothing done again
DISMISSED = "dismissed"  # a caseworker's decision that no action is needed


class Past(Protocol):
    """What a replay reads of a stored message (store.history.PastMessage has it)."""

    @property
    def id(self) -> int:
        """The stored message's id (prompts record the id of the message that answered them)."""

    @property
    def provider(self) -> str: ...

    @property
    def provider_message_id(self) -> str: ...

    @property
    def sender(self) -> str: ...

    @property
    def received_at(self) -> datetime: ...

    @property
    def text(self) -> str | None:
        """The reply; None once purged after the service's retention."""

    @property
    def action(self) -> str | None:
        """The automatic outcome's action; None when the message went to review (or repeated)."""

    @property
    def status(self) -> str:
        """Where the message ended: processed, review or repeat."""

    @property
    def decided(self) -> str | None:
        """What a caseworker decided on its review item (an action, or "dismissed"); None
        while no person has. A caseworker's action is never counted as automatic."""


class PastPrompt(Protocol):
    """A stored prompt and the message that answered it (store.prompts.StoredPrompt has it)."""

    @property
    def prompt(self) -> Prompt: ...

    @property
    def answer_message_id(self) -> int | None: ...


P = TypeVar("P", bound=Past)


def fate(past: Past) -> str:
    """What happened to a stored message: its automatic action, "repeat" or "review" (even
    once a caseworker decided it: `Past.decided` says what they did)."""
    if past.decided is not None:
        return REVIEW
    if past.action is not None:
        return past.action
    return REPEAT if past.status == REPEAT else REVIEW


def outcome(decided: Route) -> str:
    """What a decision does, in the same terms as `fate`."""
    if decided.status is Status.PROCESSED and decided.decision and decided.decision.action:
        return str(decided.decision.action)
    return REPEAT if decided.status is Status.REPEAT else REVIEW


def as_of(stored: Iterable[PastPrompt], message_id: int, received_at: datetime) -> list[Prompt]:
    """The prompts as they stood when message `message_id` arrived at `received_at`.

    A prompt answered by this very message, or by a reply received after it, was open then:
    deciding the reply against the recorded answer would call it a repeat of itself. Withdrawn
    prompts stay withdrawn (when they were withdrawn is not stored), and prompts sent after the
    reply are left to the matcher, which ignores them.
    """
    prompts = []
    for one in stored:
        prompt = one.prompt
        answer = prompt.answer
        if answer is not None and (one.answer_message_id == message_id or answer.at > received_at):
            prompt = replace(prompt, state=PromptState.OPEN, answer=None)
        prompts.append(prompt)
    return prompts


def _concerns(prompt: Prompt, received_at: datetime) -> bool:
    # A prompt a reply may be about: sent before it and not taken back (as the matcher reads).
    return prompt.state is not PromptState.WITHDRAWN and prompt.sent_at <= received_at


@dataclass(frozen=True)
class Change(Generic[P]):
    """One stored message the new rules would treat differently."""

    message: P
    before: str  # an action, "review" or "repeat"
    after: Route

    @property
    def now(self) -> str:
        """What the new rules do: an action, "review" or "repeat"."""
        return outcome(self.after)


@dataclass
class ReplaySummary(Generic[P]):
    """Counts for a replay, and the changed messages in the order they arrived."""

    replayed: int = 0
    purged: int = 0
    automatic_before: int = 0
    automatic_after: int = 0
    newly_automatic: int = 0  # review items (or repeats) the new rules would have acted on
    newly_review: int = 0  # automatic outcomes the new rules would send to a person
    different_action: int = 0  # automatic outcomes with another action
    repeats_before: int = 0  # replies that repeated an answer already given to a prompt
    repeats_after: int = 0
    with_prompts: int = 0  # replies whose sender had a prompt sent before them, not withdrawn
    changed_by_prompts: int = 0  # of those, replies decided otherwise than with no prompts
    caseworker_decided: int = 0  # review items a caseworker decided with an action
    caseworker_dismissed: int = 0  # review items a caseworker dismissed (no action needed)
    # Of the review items a caseworker decided or dismissed that the new rules would act on:
    # how many get the caseworker's own action, and how many another (or one when dismissed).
    as_caseworkers: int = 0
    unlike_caseworkers: int = 0
    changes: list[Change[P]] = field(default_factory=list)


def replay(
    rules: ServiceRules,
    history: Iterable[P],
    prompts: Mapping[str, Sequence[PastPrompt]] | None = None,
) -> ReplaySummary[P]:
    """Decide every stored message again with `rules` and the `prompts` the service sent each
    sender (by number, any state), and compare with what happened."""
    compiled = CompiledRules(RuleBook([rules]))
    # Replayed messages are routed to the file's service: they were stored for it, whichever
    # of its numbers (old or new) they were sent to.
    number = rules.service.numbers[0]
    summary: ReplaySummary[P] = ReplaySummary()
    for past in history:
        if past.text is None:
            summary.purged += 1
            continue
        summary.replayed += 1
        message = InboundMessage(
            provider=past.provider,
            provider_message_id=past.provider_message_id,
            sender=past.sender,
            recipient=number,
            text=past.text,
            received_at=past.received_at,
        )
        sent = as_of((prompts or {}).get(past.sender, ()), past.id, past.received_at)
        decided = route(compiled, message, prompts=sent)
        now = outcome(decided)
        if any(_concerns(prompt, past.received_at) for prompt in sent):
            summary.with_prompts += 1
            summary.changed_by_prompts += outcome(route(compiled, message)) != now
        was = fate(past)
        person = past.decided
        if person == DISMISSED:
            summary.caseworker_dismissed += 1
        elif person is not None:
            summary.caseworker_decided += 1
        if person is not None and now not in (REVIEW, REPEAT):
            summary.as_caseworkers += now == person
            summary.unlike_caseworkers += now != person
        summary.automatic_before += was not in (REVIEW, REPEAT)
        summary.automatic_after += now not in (REVIEW, REPEAT)
        summary.repeats_before += was == REPEAT
        summary.repeats_after += now == REPEAT
        if was == now:
            continue
        if was in (REVIEW, REPEAT) and now not in (REVIEW, REPEAT):
            summary.newly_automatic += 1
        elif now == REVIEW and was != REPEAT:
            summary.newly_review += 1
        elif now not in (REVIEW, REPEAT):
            summary.different_action += 1
        summary.changes.append(Change(past, was, decided))
    return summary
