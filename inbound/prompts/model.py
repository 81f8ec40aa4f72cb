"""A prompt (one outbound message that expects an answer) and the prompt settings of a rule
file. Pure: plain frozen values, and parsers that raise typed errors.

A prompt's stored state is open, answered or withdrawn. "Expired" is not stored: it is a fact
about a moment (`Prompt.expired_at(when)`), so a prompt never needs a sweep to expire it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from inbound import phone
from inbound.rules.model import STANDING_ACTIONS as STANDING_ACTIONS  # re-exported
from inbound.rules.model import Action

# The form of an E.164 number, checked on every prompt built, including each one a worker loads
# and each answered copy of it. Whether the number is possible is checked where a prompt comes
# in (`intake`, with the service's region); doing that here, with phonenumbers, on every load
# was a fifth of a worker's time when every reply answered a prompt (`make bench`).
_E164_FORM = re.compile(r"\+[1-9][0-9]{6,14}")


class PromptState(StrEnum):
    """Where a prompt is. Expiry is not a state: it depends on when a reply arrives."""

    OPEN = "open"  # waiting for an answer (until `expires_at`)
    ANSWERED = "answered"  # a reply answered it; `Prompt.answer` holds the action and when
    WITHDRAWN = "withdrawn"  # the service took the question back (the appointment was moved)


class InvalidPrompt(ValueError):
    """A prompt's value is wrong; names the field and says why in one line."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class Answer:
    """The answer a prompt received: the action it led to, and when the reply was received."""

    action: Action
    at: datetime


@dataclass(frozen=True)
class Prompt:
    """One outbound message that expects an answer, identified by (service, recipient,
    reference): sending the same one again updates it (`revise`), never duplicates it."""

    service: str
    recipient: str  # E.164
    reference: str  # the service's own reference, e.g. an appointment id
    expects: frozenset[Action]  # the actions that count as an answer
    sent_at: datetime
    expires_at: datetime  # the last moment an answer counts (inclusive)
    text: str | None = None  # a copy of what was sent, when the service gave one
    state: PromptState = PromptState.OPEN
    answer: Answer | None = field(default=None)  # set exactly when state is ANSWERED

    def __post_init__(self) -> None:
        if not self.service:
            raise InvalidPrompt("service", "is empty")
        if not _E164_FORM.fullmatch(self.recipient):
            raise InvalidPrompt("to", f"{phone.mask(self.recipient)} is not an E.164 number")
        if not self.reference.strip():
            raise InvalidPrompt("reference", "is empty")
        _check_expects(self.expects)
        if self.sent_at.utcoffset() is None:
            raise InvalidPrompt("sent_at", "has no time zone; give one, e.g. Z for UTC")
        if self.expires_at.utcoffset() is None:
            raise InvalidPrompt("expires_at", "has no time zone; give one, e.g. Z for UTC")
        if self.expires_at <= self.sent_at:
            raise InvalidPrompt("expires_at", "is not after sent_at")
        if (self.state is PromptState.ANSWERED) != (self.answer is not None):
            raise InvalidPrompt("answer", "is given exactly when the prompt is answered")

    @classmethod
    def loaded(
        cls,
        service: str,
        recipient: str,
        reference: str,
        expects: frozenset[Action],
        sent_at: datetime,
        expires_at: datetime,
        text: str | None,
        state: PromptState,
        answer: Answer | None,
    ) -> Prompt:
        """The same prompt as calling the class, checked the same way, for the many a worker
        reads back: the frozen dataclass's __init__ (a setattr a field) was half of building one."""
        prompt = object.__new__(cls)
        prompt.__dict__.update(
            service=service,
            recipient=recipient,
            reference=reference,
            expects=expects,
            sent_at=sent_at,
            expires_at=expires_at,
            text=text,
            state=state,
            answer=answer,
        )
        prompt.__post_init__()
        return prompt

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a prompt: (service, recipient, reference)."""
        return (self.service, self.recipient, self.reference)

    def expired_at(self, when: datetime) -> bool:
        """True when an answer received at `when` comes too late. A reply stamped exactly at
        `expires_at` still counts: the deadline reads as "reply by 09:00", and providers stamp
        whole seconds, so such a reply was most likely sent just before it."""
        return when > self.expires_at

    def answered(self, action: Action, at: datetime) -> Prompt:
        """This prompt, answered by `action` in a reply received at `at`."""
        # Copied, not checked again: this prompt is valid, and an answered state with its
        # answer is too. Through `replace` (fields, __init__, every check) it was a third of
        # matching a reply that answers a prompt (cProfile, `make bench`'s replies).
        copy = object.__new__(Prompt)
        copy.__dict__.update(self.__dict__, state=PromptState.ANSWERED, answer=Answer(action, at))
        return copy

    def withdrawn(self) -> Prompt:
        """This prompt, taken back by the service."""
        return replace(self, state=PromptState.WITHDRAWN, answer=None)


@functools.lru_cache(maxsize=256)
def _check_expects(expects: frozenset[Action]) -> None:
    """Raise when `expects` can't be a prompt's answers. Cached: prompts share a few sets, and
    a worker checks one for every reply's prompt (a failed check is not cached)."""
    if not expects:
        raise InvalidPrompt("expects", "names no action: list at least one answer")
    if Action.manual in expects:
        raise InvalidPrompt("expects", "manual is not an answer; a person decides those")
    standing = sorted(expects & STANDING_ACTIONS)
    if standing:
        raise InvalidPrompt(
            "expects",
            f"{', '.join(standing)} always take effect whatever a reminder asks; "
            "leave them out of expects",
        )


def revise(existing: Prompt | None, sent: Prompt) -> Prompt:
    """The prompt to store when the service sends `sent` and `existing` has the same key.

    Sending an answered prompt again (a retried batch, a corrected text or expiry) keeps its
    answer: reopening it would let a second reply act a second time. Sending a withdrawn one
    again asks the question afresh (the appointment was moved and is back on), so it is open.
    """
    if existing is not None and existing.key != sent.key:
        raise ValueError("revise() needs two versions of the same prompt")
    if existing is not None and existing.state is PromptState.ANSWERED:
        return replace(sent, state=PromptState.ANSWERED, answer=existing.answer)
    return replace(sent, state=PromptState.OPEN, answer=None)


def in_words(delta: timedelta) -> str:
    """A duration as a person says it, in its largest whole unit: "3 days", "1 hour"."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = seconds // size
        if count:
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return "less than a minute"
