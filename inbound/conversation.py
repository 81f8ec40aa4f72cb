"""The conversation: one thread per (service, number), in time order. Pure.

What the service asked (prompts), what the number replied, the texts sent back (automatic and
by caseworkers, with whether each was delivered), the outcomes and the caseworkers' decisions,
built from plain values the store loads (`inbound.store.conversations`), newest `limit` kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inbound.prompts.model import PromptState
from inbound.review.undelivered_words import why_in_words
from inbound.states import ActionKind, ActionState

# The newest entries shown of one thread; older ones are counted as "more", not loaded.
THREAD_LIMIT = 200

# A caseworker's reply is an outbox row whose idempotency key ends ":reply:caseworker:<token>"
# (`inbound.actions.effects.caseworker_reply`). The key outlives retention (the payload does
# not), so the token names who sent it: "by-<user id>-<random hex>" (`caseworker_token`).
_CASEWORKER_KEY = re.compile(r":reply:caseworker:(?:by-(\d+)-)?[0-9a-f]+$")


class EntryKind(StrEnum):
    """What one line of a conversation is."""

    PROMPT = "prompt"  # the service asked something (a reminder expecting an answer)
    RECEIVED = "received"  # a text from the number
    AUTO_REPLY = "auto_reply"  # a text the rules sent back
    CASEWORKER_REPLY = "caseworker_reply"  # a text a caseworker sent
    OUTCOME = "outcome"  # a rule's automatic outcome
    DECISION = "decision"  # a caseworker's decision on a review item (an action, or dismissed)


# Entries at the same moment read in the order they happen: the question, the answer, what the
# rules made of it, what a person decided, and what was texted back.
_RANK = {
    EntryKind.PROMPT: 0,
    EntryKind.RECEIVED: 1,
    EntryKind.OUTCOME: 2,
    EntryKind.DECISION: 3,
    EntryKind.AUTO_REPLY: 4,
    EntryKind.CASEWORKER_REPLY: 5,
}


# -- what the store loads ----------------------------------------------------------------------


@dataclass(frozen=True)
class PromptFact:
    """A prompt row: `text` None when the service gave none or retention purged it."""

    id: int
    reference: str
    expects: tuple[str, ...]
    sent_at: datetime
    expires_at: datetime
    text: str | None
    state: str  # a PromptState value
    answer_action: str | None = None


@dataclass(frozen=True)
class MessageFact:
    """A stored reply from the number, with the prompt it was matched to and its review item."""

    id: int
    accepted_at: datetime  # inbound's clock: orders the thread (a provider's stamp may be odd)
    received_at: datetime
    text: str | None  # None once purged
    prompt_id: int | None = None
    prompt_match: str | None = None  # how it was matched to the prompt, in words
    item_id: int | None = None  # its review item, if it went to review
    item_state: str | None = None


@dataclass(frozen=True)
class ReplyFact:
    """An outbox row of kind reply: a text sent (or to be sent, or not sent) to the number."""

    id: int
    message_id: int  # the message it answers
    key: str  # idempotency key: tells a caseworker's reply from an automatic one
    created_at: datetime
    state: str  # an ActionState value: pending, delivered, failed, suppressed
    text: str | None  # None once purged
    note: str | None = None  # why it was suppressed or failed (the row's last_error)
    attempts: int = 0  # tries at sending it


@dataclass(frozen=True)
class OutcomeFact:
    """An outcome recorded on a message (a rule's, or a caseworker's decision's: rule
    "caseworker", shown as the decision instead)."""

    message_id: int
    action: str
    rule: str
    created_at: datetime


@dataclass(frozen=True)
class DecisionFact:
    """A caseworker's decision on a review item."""

    item_id: int
    message_id: int
    decision: str  # an action, or "dismissed"
    decided_at: datetime
    decided_by: int | None  # users.id
    note: str | None = None  # e.g. why it was dismissed


# -- what the page and the API show ---------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of the thread. Fields that don't apply to its kind are None."""

    kind: EntryKind
    at: datetime
    text: str | None = None  # the words sent or received; None: not stored, or purged
    reference: str | None = None  # the prompt's reference (its own, or the one it concerns)
    message_id: int | None = None
    item_id: int | None = None  # the review item of the message, if any
    action: str | None = None  # outcome or decision action; a prompt's answer
    rule: str | None = None  # the rule of an automatic outcome or reply
    delivery: str | None = None  # replies: pending, delivered, failed or suppressed
    by: str | None = None  # caseworker replies and decisions: who (None: not known)
    note: str | None = None  # decision note, how a reply was matched, why a text wasn't sent
    expects: tuple[str, ...] = ()  # prompts: the answers it asked for
    expires_at: datetime | None = None  # prompts

    @property
    def missing_text(self) -> str:
        """What to show when `text` is None."""
        return "text not stored" if self.kind is EntryKind.PROMPT else "text purged"


@dataclass(frozen=True)
class OpenPrompt:
    """A prompt still waiting for an answer, and whether its time is up."""

    id: int
    reference: str
    expects: tuple[str, ...]
    sent_at: datetime
    expires_at: datetime
    expired: bool  # past expires_at now: a reply would come too late


@dataclass(frozen=True)
class Conversation:
    """One thread, oldest first: at most `limit` entries, the newest; `more` when older ones
    were left out."""

    entries: tuple[Entry, ...]
    more: bool
    limit: int
    open_prompts: tuple[OpenPrompt, ...]


def caseworker_token(user_id: int, nonce: str) -> str:
    """The token of a caseworker reply's key: names the sender, so the conversation can say
    who wrote it after retention has purged the text."""
    return f"by-{user_id}-{nonce}"


def sent_by_caseworker(key: str) -> tuple[bool, int | None]:
    """Whether a reply's key is a caseworker's, and which user sent it (None: not recorded,
    as in replies sent before the key named them)."""
    found = _CASEWORKER_KEY.search(key)
    if found is None:
        return False, None
    return True, int(found.group(1)) if found.group(1) else None


def _auto_reply_rule(key: str) -> str | None:
    """The rule of an automatic reply, from its key "<service>:<message>:reply:<rule>"."""
    _, marker, rule = key.partition(":reply:")
    return rule or None if marker else None


def _reply_note(reply: ReplyFact) -> str | None:
    """Why a reply wasn't sent (our own words), or why it failed in a sentence: the row's last
    error is kept safe to show (`attempts.notify_reason`: Notify's words, numbers masked)."""
    if reply.state == ActionState.SUPPRESSED:
        return reply.note
    if reply.state == ActionState.FAILED:
        return why_in_words(ActionKind.REPLY, reply.note, reply.attempts)
    return None


def build(
    *,
    prompts: Iterable[PromptFact],
    messages: Iterable[MessageFact],
    replies: Iterable[ReplyFact],
    outcomes: Iterable[OutcomeFact],
    decisions: Iterable[DecisionFact],
    open_prompts: Iterable[PromptFact],
    referenced: Iterable[PromptFact] = (),
    users: Mapping[int, str],
    now: datetime,
    limit: int = THREAD_LIMIT,
    truncated: bool = False,
) -> Conversation:
    """The thread from what was loaded: every entry in time order, the newest `limit` kept.

    `truncated`: the loader left rows out (it reads at most `limit + 1` of each kind), so there
    are older entries than those given. `referenced`: older prompts that replies were matched
    to, for their references only. `users` names caseworkers by id.
    """
    prompt_list, open_list = list(prompts), list(open_prompts)
    message_list = list(messages)
    references = {p.id: p.reference for p in [*referenced, *open_list, *prompt_list]}
    concerning = {m.id: references.get(m.prompt_id) for m in message_list if m.prompt_id}
    entries: list[tuple[Entry, int]] = []
    for p in prompt_list:
        entry = Entry(
            EntryKind.PROMPT,
            p.sent_at,
            text=p.text or None,
            reference=p.reference,
            action=p.answer_action,
            expects=p.expects,
            expires_at=p.expires_at,
            note=None if p.state == PromptState.OPEN else p.state,
        )
        entries.append((entry, p.id))
    for m in message_list:
        entry = Entry(
            EntryKind.RECEIVED,
            m.accepted_at,
            text=m.text,
            reference=concerning.get(m.id),
            message_id=m.id,
            item_id=m.item_id,
            note=m.prompt_match,
        )
        entries.append((entry, m.id))
    item_of = {m.id: m.item_id for m in message_list}
    decided = set()
    for d in decisions:
        decided.add(d.message_id)
        entry = Entry(
            EntryKind.DECISION,
            d.decided_at,
            reference=concerning.get(d.message_id),
            message_id=d.message_id,
            item_id=d.item_id,
            action=d.decision,
            by=users.get(d.decided_by) if d.decided_by is not None else None,
            note=d.note,
        )
        entries.append((entry, d.item_id))
    for o in outcomes:
        if o.rule == "caseworker" and o.message_id in decided:
            continue  # the decision entry says it, with who decided
        entry = Entry(
            EntryKind.OUTCOME,
            o.created_at,
            reference=concerning.get(o.message_id),
            message_id=o.message_id,
            item_id=item_of.get(o.message_id),
            action=o.action,
            rule=o.rule,
        )
        entries.append((entry, o.message_id))
    for r in replies:
        by_caseworker, user = sent_by_caseworker(r.key)
        entry = Entry(
            EntryKind.CASEWORKER_REPLY if by_caseworker else EntryKind.AUTO_REPLY,
            r.created_at,
            text=r.text,
            message_id=r.message_id,
            rule=None if by_caseworker else _auto_reply_rule(r.key),
            delivery=r.state,
            by=users.get(user) if user is not None else None,
            note=_reply_note(r),
        )
        entries.append((entry, r.id))
    entries.sort(key=lambda pair: (pair[0].at, _RANK[pair[0].kind], pair[1]))
    kept = entries[-limit:] if limit > 0 else []
    return Conversation(
        entries=tuple(entry for entry, _ in kept),
        more=truncated or len(entries) > len(kept),
        limit=limit,
        open_prompts=waiting(open_list, now),
    )


def waiting(prompts: Iterable[PromptFact], now: datetime) -> tuple[OpenPrompt, ...]:
    """The open prompts, soonest to expire first (expired ones last: they can only go to
    review now)."""
    found = [
        OpenPrompt(p.id, p.reference, p.expects, p.sent_at, p.expires_at, now > p.expires_at)
        for p in prompts
        if p.state == PromptState.OPEN
    ]
    return tuple(sorted(found, key=lambda p: (p.expired, p.expires_at, p.id)))


def user_ids(replies: Sequence[ReplyFact], decisions: Sequence[DecisionFact]) -> set[int]:
    """The caseworkers a thread names, to look up their emails."""
    named = {user for r in replies if (user := sent_by_caseworker(r.key)[1]) is not None}
    named.update(d.decided_by for d in decisions if d.decided_by is not None)
    return named
