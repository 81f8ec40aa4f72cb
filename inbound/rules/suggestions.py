"""Suggested keywords mined from caseworkers' decisions on the review queue. Pure: no I/O.

A reply that caseworkers decided the same way at least `minimum` times, and never any other way,
becomes a suggested keyword (`match: only`) for that action. Replies are grouped by the
matcher's own normalisation, so "Stop texting me!" and "stop texting me" are one text.

What is never suggested, and why:
- a text that also went another way, including a dismissal: "no action" is a decision too, and
  a text people read in two ways is exactly what must stay with a person;
- a text only ever dismissed: there is no keyword for "do nothing";
- a text the rules already decide that way (it went to review before a rule changed);
- a text the rules with the keyword would still send to a person (a question, a negation);
- a keyword that would change any automatic outcome among the stored replies (the impact):
  a suggestion may only take work off the queue, never redo what the rules already do.

The impact compares the rules in force with the same rules plus the keyword over the stored
replies, both decided by the matcher (prompts aside), so it shows what the keyword alone does.
Suggestions never change the rules themselves: a person adds them to a draft and publishes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbound.rules.match import Decision, Matcher
from inbound.rules.model import Action, MatchKind, Rule, ServiceRules
from inbound.rules.normalise import normalise, squeeze, symbols

DISMISSED = "dismissed"  # a review item closed with no action (ReviewItem.decision)
DEFAULT_MINIMUM = 3
DEFAULT_DAYS = 30  # the window of decisions and replies read, in days
MAX_DAYS = 366
REVIEW = "review"
# Actions a caseworker's decision can teach: answering, asking for help and "a person decides"
# are the rules' own business, never learnt from the queue.
_LEARNABLE = frozenset(Action) - {Action.manual, Action.help, Action.reply}


@dataclass(frozen=True)
class CaseworkerDecision:
    """One review item a caseworker closed: the reply, what they decided, who and when."""

    message_id: int
    item_id: int  # the review item it closed
    text: str | None  # None once the reply was purged after the service's retention
    decision: str  # an action, or "dismissed"
    decided_by: int | None
    decided_at: datetime | None


@dataclass(frozen=True)
class Impact:
    """What adding a keyword does to the stored replies of the replay window."""

    replayed: int  # stored replies with their text still kept
    newly_automatic: int  # replies the rules sent to a person that would now be handled
    changed: int  # automatic outcomes that would become another action or go to review


@dataclass(frozen=True)
class Suggestion:
    """A keyword to add for `action`, the decisions behind it, and its replay impact."""

    text: str  # the normalised reply: the keyword to add
    action: Action
    rule: str | None  # the rule the keyword would join; None: a new rule of its own
    message_ids: tuple[int, ...]  # the decided replies behind it, oldest decision first
    item_ids: tuple[int, ...]  # their review items, in the same order
    impact: Impact

    @property
    def decisions(self) -> int:
        """How many caseworkers' decisions back it."""
        return len(self.message_ids)


def key(text: str) -> str:
    """The form replies are grouped and suggested in: the matcher's normalisation (an emoji-only
    reply keeps its emoji, which a `match: only` rule takes as a keyword)."""
    return normalise(text) or symbols(text)


def outcome(decision: Decision) -> str:
    """An automatic action, or "review"."""
    return str(decision.action) if decision.automatic else REVIEW


def with_keyword(
    rules: ServiceRules, keyword: str, action: Action
) -> tuple[ServiceRules, str | None]:
    """`rules` with `keyword` added for `action`, and the name of the rule it joined.

    It joins the first `match: only` rule with that action that needs no captures (so the sender
    gets that rule's reply, as for its other keywords) unless that rule lists its keywords by
    language; otherwise a new rule is added last.
    """
    changed: list[Rule] = list(rules.rules)
    for index, rule in enumerate(changed):
        if rule.action is not action or rule.match is not MatchKind.only or rule.requires:
            continue
        # Rebuilt through validation, as the file would be with the keyword written in.
        written = rule.model_dump(mode="json")
        if not isinstance(written["keywords"], list):
            break  # keywords listed by language: which language a reply is in is a guess
        written["keywords"] = [*written["keywords"], keyword]
        changed[index] = Rule.model_validate(written)
        return rules.model_copy(update={"rules": changed}), rule.name
    names = {rule.name for rule in changed}
    name = f"suggested {action.value}"
    number = 2
    while name in names:
        name, number = f"suggested {action.value} {number}", number + 1
    changed.append(Rule(name=name, keywords=[keyword], match=MatchKind.only, action=action))
    return rules.model_copy(update={"rules": changed}), None


def impact(before: Matcher, after: Matcher, replies: Iterable[str | None]) -> Impact:
    """Decide each stored reply with both matchers and count what the change does."""
    return _Replay(before, replies).impact(after, None)


class _Replay:
    """The window's replies, each distinct text decided once by the rules in force.

    A candidate keyword is replayed only over the replies it could touch: those sharing a word
    with it or one edit from one (the matcher's typo tolerance, its list of known words and its
    mentions of other rules' keywords all go by such words). Two words one edit apart share a
    one-letter deletion, so replies are indexed by their words' deletions, as the matcher's own
    typo index is.
    """

    def __init__(self, before: Matcher, replies: Iterable[str | None]) -> None:
        self.counts = Counter(text for text in replies if text is not None)
        self.before = {text: outcome(before.decide(text)) for text in self.counts}
        self.by_form: dict[str, set[str]] = {}
        for text in self.counts:
            for word in set(squeeze(normalise(text)).split()):
                for form in _forms(word):
                    self.by_form.setdefault(form, set()).add(text)

    def impact(self, after: Matcher, keyword: str | None) -> Impact:
        """What `after` changes; `keyword`: the one word-keyword added (None: replay all)."""
        near = self._near(keyword)
        newly = changed = 0
        for text in self.before if near is None else near:
            was = self.before[text]
            if outcome(after.decide(text)) == was:
                continue
            if was == REVIEW:
                newly += self.counts[text]
            else:
                changed += self.counts[text]
        return Impact(self.counts.total(), newly, changed)

    def _near(self, keyword: str | None) -> set[str] | None:
        words = squeeze(normalise(keyword)).split() if keyword is not None else []
        if not words:
            return None  # an emoji keyword, or no keyword given: every reply
        return {
            text for word in words for form in _forms(word) for text in self.by_form.get(form, ())
        }


def _forms(word: str) -> list[str]:
    return [word, *(word[:index] + word[index + 1 :] for index in range(len(word)))]


def suggest(
    rules: ServiceRules,
    decisions: Iterable[CaseworkerDecision],
    replies: Sequence[str | None],
    minimum: int = DEFAULT_MINIMUM,
) -> list[Suggestion]:
    """The keywords caseworkers' `decisions` teach `rules`, most decisions first, each checked
    against the stored `replies` of the replay window (their text; None when purged)."""
    if minimum < 1:
        raise ValueError("minimum must be at least 1")
    ways: dict[str, dict[str, list[CaseworkerDecision]]] = {}
    for one in decisions:
        if one.text is None or not key(one.text):
            continue
        ways.setdefault(key(one.text), {}).setdefault(one.decision, []).append(one)
    current = Matcher(rules)
    window = _Replay(current, replies)
    found: list[Suggestion] = []
    for text, by_decision in ways.items():
        if len(by_decision) != 1:
            continue  # decided in more than one way (or also dismissed): a person's call
        ((decision, behind),) = by_decision.items()
        action = _learnable(decision)
        if action is None or len(behind) < minimum:
            continue
        if outcome(current.decide(text)) == action.value:
            continue  # the rules already do this
        changed_rules, joined = with_keyword(rules, text, action)
        proposed = Matcher(changed_rules)
        if outcome(proposed.decide(text)) != action.value:
            continue  # the matcher would still hand it to a person (a question, a negation)
        effect = window.impact(proposed, text)
        if effect.changed:
            continue
        ordered = sorted(behind, key=lambda one: (one.decided_at is None, one.decided_at))
        ids = tuple(one.message_id for one in ordered)
        items = tuple(one.item_id for one in ordered)
        found.append(Suggestion(text, action, joined, ids, items, effect))
    found.sort(key=lambda one: (-one.decisions, one.text, one.action.value))
    return found


def as_json(suggestion: Suggestion) -> dict[str, Any]:
    """The API's and `inbound rules suggest --json`'s form of a suggestion."""
    impact = suggestion.impact
    return {
        "text": suggestion.text,
        "action": suggestion.action.value,
        "rule": suggestion.rule,
        "decisions": {
            "count": suggestion.decisions,
            "messages": list(suggestion.message_ids),
            "items": list(suggestion.item_ids),
        },
        "impact": {
            "replayed": impact.replayed,
            "newly_automatic": impact.newly_automatic,
            "changed": impact.changed,
        },
    }


def _learnable(decision: str) -> Action | None:
    try:
        action = Action(decision)
    except ValueError:
        return None  # "dismissed", or an action this version no longer has
    return action if action in _LEARNABLE else None
