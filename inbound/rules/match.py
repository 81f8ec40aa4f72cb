"""Deciding what a reply means: match a message against a service's rules. Pure: no I/O.

The guiding rule is to act automatically only when a person reading the text would agree;
anything doubtful becomes a decision with no action, and a person decides.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from inbound.rules.model import Action, MatchKind, Rule, ServiceRules
from inbound.rules.normalise import normalise

_NO_CAPTURES: Mapping[str, str] = MappingProxyType({})
# Stripped from the front of captured details: the ways people separate a keyword from the rest
# ("REPORT: pothole", "report - pothole"). Opening brackets, quotes and '#' carry meaning, so stay.
_SEPARATORS = ":;,.-–—!?=>~|"


@dataclass(frozen=True)
class Decision:
    """What to do with one message, and why; `action` None means a person decides."""

    action: Action | None
    rule: str | None
    captures: Mapping[str, str]
    reason: str

    @property
    def automatic(self) -> bool:
        """True when the action can run without a person looking first."""
        return self.action is not None and self.action is not Action.manual


@dataclass(frozen=True, slots=True)
class _Message:
    original: str
    normalised: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Hit:
    position: int  # the rule's place in the file; the first matching rule wins
    rule: Rule
    length: int  # keyword length in tokens; a rule's longest matching keyword wins
    captures: Mapping[str, str]


class _Index(Protocol):
    """Finds the rules of one match kind that a message matches."""

    def add(self, position: int, rule: Rule, keyword: str) -> None: ...

    def find(self, message: _Message) -> Iterator[_Hit]: ...


class _OnlyIndex:
    """`only`: the whole normalised message is the keyword; one dict lookup."""

    def __init__(self) -> None:
        self._rules: dict[str, list[tuple[int, Rule]]] = {}

    def add(self, position: int, rule: Rule, keyword: str) -> None:
        self._rules.setdefault(normalise(keyword), []).append((position, rule))

    def find(self, message: _Message) -> Iterator[_Hit]:
        length = len(message.tokens)
        for position, rule in self._rules.get(message.normalised, ()):
            yield _Hit(position, rule, length, _NO_CAPTURES)


class _FirstIndex:
    """`first`: the message's words start with the keyword's; the rest is `details`."""

    def __init__(self) -> None:
        # Keyed on the keyword's first word so a message only meets plausible keywords.
        self._rules: dict[str, list[tuple[tuple[str, ...], int, Rule]]] = {}

    def add(self, position: int, rule: Rule, keyword: str) -> None:
        words = tuple(normalise(keyword).split())
        self._rules.setdefault(words[0], []).append((words, position, rule))

    def find(self, message: _Message) -> Iterator[_Hit]:
        if not message.tokens:
            return
        for words, position, rule in self._rules.get(message.tokens[0], ()):
            if message.tokens[: len(words)] == words:
                details = _text_after(message, words)
                captures = MappingProxyType({"details": details}) if details else _NO_CAPTURES
                yield _Hit(position, rule, len(words), captures)


# One index per match kind: a new kind is a new index class and one line here.
_INDEXES: Mapping[MatchKind, type[_Index]] = {
    MatchKind.only: _OnlyIndex,
    MatchKind.first: _FirstIndex,
}


class Matcher:
    """A service's rules prepared for matching; build once, then call `decide` per message."""

    def __init__(self, rules: ServiceRules) -> None:
        """Normalise and index every keyword of `rules`."""
        self.rules = rules
        self._indexes: dict[MatchKind, _Index] = {}
        for position, rule in enumerate(rules.rules):
            index = self._indexes.get(rule.match)
            if index is None:
                index = self._indexes[rule.match] = _INDEXES[rule.match]()
            for keyword in rule.keywords:
                index.add(position, rule, keyword)

    def decide(self, text: str) -> Decision:
        """Decide what the message `text` asks for, or that a person should decide."""
        if not text.strip():
            return _review("empty message")
        normalised = normalise(text)
        if not normalised:
            return _review("no words to match, only punctuation, symbols or emoji")
        message = _Message(text, normalised, tuple(normalised.split()))
        hits = self._hits(message)
        if not hits:
            return _review("no rule matched")
        actions = {hit.rule.action for hit in hits}
        if len(actions) > 1:
            return _review("matched " + _and_list([f"'{hit.rule.name}'" for hit in hits]))
        return _decide_rule(hits[0])

    def _hits(self, message: _Message) -> list[_Hit]:
        """Every matching rule once, in file order, each with its longest matching keyword."""
        best: dict[int, _Hit] = {}
        for index in self._indexes.values():
            for hit in index.find(message):
                current = best.get(hit.position)
                if current is None or hit.length > current.length:
                    best[hit.position] = hit
        return [best[position] for position in sorted(best)]


def decide(rules: ServiceRules, text: str) -> Decision:
    """Decide one message against `rules`; build a `Matcher` instead when deciding many."""
    return Matcher(rules).decide(text)


def _decide_rule(hit: _Hit) -> Decision:
    rule = hit.rule
    if rule.action is Action.manual:
        return Decision(
            Action.manual, rule.name, hit.captures, f"rule '{rule.name}' hands this to a person"
        )
    missing = [name for name in rule.requires if not hit.captures.get(name)]
    if missing:
        return Decision(
            None,
            rule.name,
            hit.captures,
            f"rule '{rule.name}' needs {_and_list(missing)} after the keyword",
        )
    return Decision(rule.action, rule.name, hit.captures, f"matched rule '{rule.name}'")


def _review(reason: str) -> Decision:
    return Decision(None, None, _NO_CAPTURES, reason)


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _text_after(message: _Message, words: tuple[str, ...]) -> str:
    """The original text after the keyword, tidied; people want to read what was sent."""
    original = message.original
    count = len(words)
    # The keyword ends at the first word boundary where the original so far normalises to it.
    for end in _word_ends(original):
        if tuple(normalise(original[:end]).split()[:count]) == words:
            return _strip_separators(original[end:])
    # Only reached by odd texts (symbols that fold into letters); never lose the details.
    return " ".join(message.tokens[count:])


def _word_ends(text: str) -> Iterator[int]:
    """Positions just after a word: the only places the keyword can end."""
    for end in range(1, len(text) + 1):
        if _in_word(text[end - 1]) and (end == len(text) or not _in_word(text[end])):
            yield end


def _in_word(char: str) -> bool:
    # Matches what `normalise` keeps inside a word: letters, digits, marks, joiners, apostrophes.
    category = unicodedata.category(char)
    return category[0] in "LNM" or category == "Cf" or char == "'"


def _strip_separators(text: str) -> str:
    start = 0
    while start < len(text) and (text[start].isspace() or text[start] in _SEPARATORS):
        start += 1
    return text[start:].rstrip()
