"""Which prompt a reply answers, and what happens: a pure decision over plain values.

The caller (later: the rules worker) loads the sender's prompts for the service, asks the rules
what the text means (`inbound.rules.match.Decision`), calls `match_reply`, and writes what it
returns: the outcome or review item with its prompt, and the prompt's state change.

How a reply is matched, in order (each step's "why" is beside its code):
1. Withdrawn prompts, and prompts sent after the reply was received, are not candidates.
2. Opt-out, opt-in and help act as the rules decide, whatever any prompt expects; they answer
   no prompt (it stays open).
3. A reply the rules send to a person stays with a person; it records the prompt it most likely
   relates to.
4. No candidate prompt at all: the service's `without_prompt` policy.
5. A reference the rule captured ("cancel 8812") narrows the candidates to the prompts it names;
   naming none of them is a review.
6. One open prompt: answered when the action is one it expects, otherwise a review. Several: a
   review listing them. Then answered prompts: the same answer again does nothing; a different
   one is a review unless the rule file allows changes. Only expired prompts: a review saying
   how late the reply came.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inbound.prompts.model import STANDING_ACTIONS, Answer, Prompt, PromptState, in_words
from inbound.rules.match import Decision
from inbound.rules.model import Action
from inbound.rules.prompt_settings import PromptSettings, WithoutPrompt

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
NOT_ASKED = "not one of the answers this reminder asked for"
CHANGES = "changes an earlier answer"


class Verdict(StrEnum):
    """What becomes of the reply."""

    ACT = "act"  # the action runs automatically (an outcome, and its callback)
    REVIEW = "review"  # a person decides
    REPEAT = "repeat"  # the same answer again: no second outcome, no second callback


@dataclass(frozen=True)
class Transition:
    """A prompt's state change: store `after` in place of `before`."""

    before: Prompt
    after: Prompt


@dataclass(frozen=True)
class PromptDecision:
    """What a reply does, which prompt it is about, and why.

    `prompt` is the prompt answered (ACT), repeated (REPEAT), or the one a review most likely
    relates to (None when there is no single one; `candidates` then lists those a person
    chooses between). `transition` is set only when the reply answers a prompt.
    """

    verdict: Verdict
    action: Action | None  # the action to run; set exactly when verdict is ACT
    prompt: Prompt | None
    transition: Transition | None
    reason: str
    candidates: tuple[Prompt, ...] = ()

    @property
    def answered(self) -> Prompt | None:
        """The prompt this reply answers (before the change), or None."""
        return self.transition.before if self.transition else None


def match_reply(
    received_at: datetime,
    proposed: Decision,
    prompts: Iterable[Prompt],
    settings: PromptSettings,
    named_reference: str | None = None,
) -> PromptDecision:
    """Decide which of the sender's `prompts` (for this service, in any state) a reply received
    at `received_at` answers, given what the rules `proposed` for its text.

    `named_reference` is the reference the reply names; by default the rule's `reference`
    capture, when it has one.
    """
    if named_reference is None:
        named_reference = proposed.captures.get("reference")
    # 1. A withdrawn prompt was taken back: nothing can answer it. A prompt sent after the reply
    # was received can't be what it answers: a person types a reply after reading the question,
    # which takes longer than any clock drift between the service and the provider.
    live = [p for p in prompts if p.state is not PromptState.WITHDRAWN and p.sent_at <= received_at]
    if len(live) > 1:  # most numbers have one prompt: no sort to pay for
        live.sort(key=_sent_order)
    named = None if not named_reference else [p for p in live if names(named_reference, p)]
    action = proposed.action if proposed.automatic else None

    # 2. STOP always works (carrier and regulator rules), and HELP is always answered, even
    # when a reminder expects only confirm: refusing them as "not an answer" would keep texting
    # someone who asked us to stop. They answer no prompt: the question is still open.
    if action in STANDING_ACTIONS:
        reason = proposed.reason
        if live:
            reason += f"; {action} takes effect whatever a reminder asked"
        return PromptDecision(Verdict.ACT, action, _likely(live, named, received_at), None, reason)
    # 3. The rules were unsure (doubt, a question, no keyword): prompts can't make a guess
    # safe, but the reviewer is shown the prompt it most likely answers.
    if action is None:
        prompt = _likely(live, named, received_at)
        reason = proposed.reason
        if prompt is not None:
            reason += f"; most likely about reminder {prompt.reference}"
        elif live:
            reason += f"; reminders sent to this number: {_references(live)}"
        return _review(reason, prompt, () if prompt else tuple(live))
    # 4. No prompt at all: the service chose what such replies get.
    if not live:
        if settings.without_prompt is WithoutPrompt.REVIEW:
            return _review(
                "no reminder asked this number for a reply, and this service reviews such replies"
            )
        return PromptDecision(Verdict.ACT, action, None, None, proposed.reason)
    # 5. A named reference picks among the prompts; one that names none of them may be about
    # another appointment entirely, so it is never taken to answer the one that is open.
    if named_reference and not named:
        return _review(
            f"names {named_reference}, which is none of the reminders sent to this number "
            f"({_references(live)})",
            candidates=tuple(live),
        )
    open_: list[Prompt] = []
    answered: list[Prompt] = []
    expired: list[Prompt] = []
    for p in named or live:
        if p.state is PromptState.ANSWERED:
            answered.append(p)
        elif p.expired_at(received_at):
            expired.append(p)
        else:
            open_.append(p)
    # 6. Open prompts come first: an open question is what a new reply most likely answers,
    # even when an older one was answered already.
    if len(open_) == 1:
        return _answer(open_[0], action, received_at)
    if open_:
        # Not narrowed by `expects`: with one reminder expecting confirm or cancel and another
        # only confirm, "cancel" may still be meant for the second; a person asks.
        return _review(
            f"{len(open_)} reminders are open ({_references(open_)}) and the reply doesn't "
            "say which it answers",
            candidates=tuple(open_),
        )
    if answered:
        return _again(answered, action, received_at, settings)
    latest = max(expired, key=lambda p: p.expires_at)
    return _review(
        f"came {in_words(received_at - latest.expires_at)} after the reminder expired "
        f"({latest.reference})",
        latest,
    )


def decided_by_person(prompt: Prompt, action: Action, at: datetime) -> Transition | None:
    """The change a caseworker's decision makes to the prompt the reply relates to: it answers
    an open prompt, or replaces an earlier answer (a person read both replies); None when it
    answers nothing (a withdrawn prompt, the same answer again, or a standing action)."""
    if action in STANDING_ACTIONS or action is Action.manual:
        return None
    if prompt.state is PromptState.WITHDRAWN:
        return None
    if prompt.answer is not None and prompt.answer.action is action:
        return None
    return Transition(prompt, prompt.answered(action, at))


def _sent_order(prompt: Prompt) -> tuple[datetime, str]:
    return (prompt.sent_at, prompt.reference)


def names(reference: str, prompt: Prompt) -> bool:
    """True when a reference in a reply names `prompt`: the same letters and digits ignoring
    case and punctuation ("APPT 8812" is appt-8812), or the reference's last run of them, which
    is what people copy from a reminder ("8812" for appt-8812)."""
    said = _NOT_ALNUM.sub("", reference.casefold())
    parts = [part for part in _NOT_ALNUM.split(prompt.reference.casefold()) if part]
    return bool(said) and (said == "".join(parts) or (bool(parts) and said == parts[-1]))


def _answer(
    prompt: Prompt, action: Action, at: datetime, because: str | None = None
) -> PromptDecision:
    if action not in prompt.expects:
        return _review(
            f"{NOT_ASKED}: {action} (reminder {prompt.reference} expects "
            f"{_actions(prompt.expects)})",
            prompt,
        )
    return PromptDecision(
        Verdict.ACT,
        action,
        prompt,
        Transition(prompt, prompt.answered(action, at)),
        because or f"answers reminder {prompt.reference}: {action}",
    )


def _again(
    answered: Sequence[Prompt], action: Action, at: datetime, settings: PromptSettings
) -> PromptDecision:
    """A reply to prompts that were answered already."""
    latest = max(answered, key=lambda p: _answer_of(p).at)
    # The same answer again ("YES", then "yes!") is nothing new, whichever prompt it meant:
    # no second outcome and no second callback.
    if all(_answer_of(p).action is action for p in answered):
        return PromptDecision(
            Verdict.REPEAT,
            None,
            latest,
            None,
            f"repeats the answer already given to reminder {latest.reference}: {action}",
        )
    if len(answered) > 1:
        return _review(
            f"{CHANGES}, and {len(answered)} reminders were answered ({_references(answered)}); "
            "the reply doesn't say which",
            candidates=tuple(answered),
        )
    prompt = answered[0]
    earlier = _answer_of(prompt)
    change = f"{CHANGES} to reminder {prompt.reference} ({earlier.action} to {action})"
    # Replies may be processed out of order (a redelivery, a slow part of a long SMS): one
    # received before the answer already recorded must never replace it, changes allowed or
    # not; nor can a machine tell which of two replies stamped the same second came last.
    if at <= earlier.at:
        return _review(
            f"differs from the answer recorded for reminder {prompt.reference} "
            f"({earlier.action}), which was received after it or at the same time",
            prompt,
        )
    if not settings.allow_change:
        return _review(change, prompt)
    if prompt.expired_at(at):
        return _review(
            f"{change}, {in_words(at - prompt.expires_at)} after the reminder expired", prompt
        )
    return _answer(prompt, action, at, because=f"{change}; this service allows changes")


def _likely(live: Sequence[Prompt], named: Sequence[Prompt] | None, at: datetime) -> Prompt | None:
    """The one prompt a reply is most likely about, or None when there isn't a single one: the
    one it names, else the only open one, else the only answered one, else the only expired."""
    pool = named or live
    tiers = (
        [p for p in pool if p.state is PromptState.OPEN and not p.expired_at(at)],
        [p for p in pool if p.state is PromptState.ANSWERED],
        [p for p in pool if p.state is PromptState.OPEN and p.expired_at(at)],
    )
    for tier in tiers:
        if tier:
            return tier[0] if len(tier) == 1 else None
    return None


def _review(
    reason: str, prompt: Prompt | None = None, candidates: tuple[Prompt, ...] = ()
) -> PromptDecision:
    return PromptDecision(Verdict.REVIEW, None, prompt, None, reason, candidates)


def _answer_of(prompt: Prompt) -> Answer:
    assert prompt.answer is not None, "an answered prompt has an answer"
    return prompt.answer


def _references(prompts: Iterable[Prompt]) -> str:
    return ", ".join(p.reference for p in prompts)


def _actions(actions: Iterable[Action]) -> str:
    ordered = sorted(actions)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"
