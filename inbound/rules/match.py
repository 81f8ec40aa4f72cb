"""Deciding what a reply means: match a message against a service's rules. Pure: no I/O.

The guiding rule is to act automatically only when a person reading the text would agree;
anything doubtful becomes a decision with no action, and a person decides. Every decision carries
a reason a person can read.

How a reply is read, in order:
1. Empty, or nothing but punctuation: a person decides (unless an emoji is a keyword).
2. A carrier opt-out word for the service's region (STOP; in the US also END, QUIT, …) on its
   own opts the sender out, before any service rule.
3. Keywords are compared with the normalised reply, exactly or with repeated letters squeezed
   ("yesss"); greetings and thanks around an `only` keyword don't count as extra text.
4. With no such match, one typo (Damerau–Levenshtein) is allowed in keywords of four or more
   letters ("cancle"); a common word is never taken for a typo ("shop" is not "stop"). When
   the service's keywords are in more than one language, only in keywords of six or more: a
   short word is too often a word of the other language ("helo" is Welsh, not "help").
5. Doubt sends the reply to a person: rules with different actions matching; a question or a
   negation around the keyword; an `only` keyword with more to say; a capture failing its check.
   A longer reply that asks to stop messages is flagged as a possible opt-out.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from inbound.rules import words
from inbound.rules.carrier import opt_out_words
from inbound.rules.language import TYPO_MIN_LETTERS_MULTILINGUAL, written_in
from inbound.rules.model import (
    ANSWER_ACTIONS,
    CARRIER_RULE,
    FREE_TEXT_ACTIONS,
    Action,
    MatchKind,
    Rule,
    ServiceRules,
    render_reply,
)
from inbound.rules.normalise import normalise, squeeze, symbols
from inbound.rules.reference_formats import Mismatch, Reference

_NO_CAPTURES: Mapping[str, str] = MappingProxyType({})
# Stripped from the front of captured details: the ways people separate a keyword from the rest
# ("REPORT: pothole", "report - pothole"). Opening brackets, quotes and '#' carry meaning, so stay.
_SEPARATORS = ":;,.-–—!?=>~|"
_QUESTION_MARKS = frozenset("?¿؟？")
_TYPO_MIN_LETTERS = 4
OPT_OUT_FLAG = "opt_out"
T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    """What to do with one message, and why; `action` None means a person decides.

    `flags` marks things a reviewer should see first (`opt_out`: the sender may be asking to
    stop messages). `reply` is the rule's auto-reply with captures filled in, when automatic,
    in `reply_language`. `language` is the language the person wrote in: the matched keyword's,
    else the service's default.
    """

    action: Action | None
    rule: str | None
    captures: Mapping[str, str]
    reason: str
    flags: frozenset[str] = field(default=frozenset())
    reply: str | None = None
    language: str | None = None
    reply_language: str | None = None

    @property
    def automatic(self) -> bool:
        """True when the action can run without a person looking first."""
        return self.action is not None and self.action is not Action.manual


@dataclass(slots=True)
class _Message:
    original: str
    normalised: str
    words: tuple[str, ...]  # normalised words with repeated letters squeezed
    start: int  # the words left once greetings and closings are set aside: words[start:end]
    end: int
    question: bool
    mentions: list[_Hit] | None = None  # found once, on first use


@dataclass(frozen=True, slots=True)
class _Keyword:
    position: int  # the rule's place in the file; the first matching rule wins
    rule: Rule
    text: str  # as written, for reasons
    words: tuple[str, ...]  # normalised and squeezed
    language: str  # the language it is listed under, or the service's default


@dataclass(frozen=True, slots=True)
class _Hit:
    keyword: _Keyword
    start: int  # the keyword's words in the message: words[start:end]
    end: int
    captures: Mapping[str, str]
    typo: bool = False
    separator: str = ""  # the text between a `first` keyword and its details

    @property
    def rule(self) -> Rule:
        return self.keyword.rule


class Matcher:
    """A service's rules prepared for matching; build once, then call `decide` per message."""

    def __init__(self, rules: ServiceRules) -> None:
        """Normalise and index every keyword of `rules`."""
        self.rules = rules
        self._only: dict[str, list[_Keyword]] = {}
        self._only_by_length: dict[int, list[_Keyword]] = {}
        self._symbols: dict[str, list[_Keyword]] = {}
        self._first: dict[str, list[_Keyword]] = {}
        self._phrase: dict[str, list[_Keyword]] = {}
        self._mentions: dict[str, list[_Keyword]] = {}
        self._regex: list[tuple[_Keyword, re.Pattern[str]]] = []
        self._references: dict[int, Reference] = {}
        self._carrier: dict[str, str] = {squeeze(word): word for word in rules_region(rules)}
        self._carrier_rules: dict[str, _Keyword] = {}
        self._language = rules.service.language
        known: set[str] = set()
        languages: set[str] = set()
        for position, rule in enumerate(rules.rules):
            if rule.captures.reference is not None:
                self._references[position] = rule.captures.reference
            for text, listed in zip(rule.keywords, rule.keywords.languages, strict=True):
                language = written_in(listed, self._language)
                languages.add(language)
                if rule.match is MatchKind.regex:
                    keyword = _Keyword(position, rule, text, (), language)
                    self._regex.append((keyword, re.compile(text)))
                    continue
                normalised = normalise(text)
                keyword = _Keyword(
                    position, rule, text, tuple(squeeze(normalised).split()), language
                )
                if not keyword.words:
                    self._symbols.setdefault(symbols(text), []).append(keyword)
                    continue
                known.update(keyword.words)
                self._mentions.setdefault(keyword.words[0], []).append(keyword)
                if rule.match is MatchKind.only:
                    self._only.setdefault(" ".join(keyword.words), []).append(keyword)
                    self._only_by_length.setdefault(len(keyword.words), []).append(keyword)
                    word = " ".join(keyword.words)
                    if rule.action is Action.opt_out and word in self._carrier:
                        self._carrier_rules.setdefault(word, keyword)
                elif rule.match is MatchKind.first:
                    self._first.setdefault(keyword.words[0], []).append(keyword)
                else:
                    self._phrase.setdefault(keyword.words[0], []).append(keyword)
        # One typo: every eligible keyword word under itself and each of its one-letter
        # deletions; a typed word meets a keyword when they share one of those forms.
        self._typo_min = TYPO_MIN_LETTERS_MULTILINGUAL if len(languages) > 1 else _TYPO_MIN_LETTERS
        self._typo_index: dict[str, list[tuple[_Keyword, int]]] = {}
        for keywords in [*self._only.values(), *self._first.values()]:
            for keyword in keywords:
                for place, word in enumerate(keyword.words):
                    if len(word) >= self._typo_min and word.isalpha():
                        for form in _forms(word):
                            self._typo_index.setdefault(form, []).append((keyword, place))
        self._longest = max(
            (len(keyword.words) for keywords in self._mentions.values() for keyword in keywords),
            default=0,
        )
        self._not_typos = (
            frozenset(known)
            | words.COMMON_WORDS
            | words.NEGATIONS
            | words.QUESTION_WORDS
            | {phrase[0] for phrase in words.GREETINGS | words.CLOSINGS}
        )

    def decide(self, text: str) -> Decision:
        """Decide what the message `text` asks for, or that a person should decide."""
        if not text.strip():
            return _review("empty message")
        normalised = normalise(text)
        if not normalised and not self._symbols:
            return _review(_NO_WORDS)
        found = tuple(squeeze(normalised).split())
        start, end = words.strip_fillers(found)
        question = not _QUESTION_MARKS.isdisjoint(text)
        message = _Message(text, normalised, found, start, end, question)
        decision = self._carrier_opt_out(message) or self._match(message)
        if not decision.automatic:
            return _flag_opt_out(message, decision)
        return decision

    # -- the steps ---------------------------------------------------------------------------

    def _carrier_opt_out(self, message: _Message) -> Decision | None:
        if len(message.words) != 1:
            return None
        word = self._carrier.get(message.words[0])
        if word is None:
            return None
        reason = f"carrier opt-out word {word.upper()} (region {self.rules.service.region})"
        keyword = self._carrier_rules.get(message.words[0])
        if keyword is None:
            language = self._language
            return Decision(Action.opt_out, CARRIER_RULE, _NO_CAPTURES, reason, language=language)
        return self._automatic(keyword, _NO_CAPTURES, reason)

    def _automatic(self, keyword: _Keyword, captures: Mapping[str, str], reason: str) -> Decision:
        """The rule's action, with its reply in the language of the keyword matched."""
        rule = keyword.rule
        chosen = rule.reply_for(keyword.language, self._language)
        reply, reply_language = (
            (render_reply(chosen[0], captures), chosen[1]) if chosen else (None, None)
        )
        return Decision(
            rule.action,
            rule.name,
            captures,
            reason,
            reply=reply,
            language=keyword.language,
            reply_language=reply_language,
        )

    def _match(self, message: _Message) -> Decision:
        hits = (
            self._exact_hits(message)
            or self._keywords_only_hits(message)
            or self._typo_hits(message)
        )
        if hits:
            return self._decide_hits(message, hits)
        return self._explain_miss(message)

    def _exact_hits(self, message: _Message) -> list[_Hit]:
        found = _Best()
        ws, start, end = message.words, message.start, message.end
        for keyword in self._only.get(" ".join(ws), ()):
            found.add(_Hit(keyword, 0, len(ws), _NO_CAPTURES))
        if (start, end) != (0, len(ws)):
            for keyword in self._only.get(" ".join(ws[start:end]), ()):
                found.add(_Hit(keyword, start, end, _NO_CAPTURES))
        if start < end:
            for keyword in self._first.get(ws[start], ()):
                stop = start + len(keyword.words)
                if ws[start:stop] == keyword.words:
                    found.add(_first_hit(message, keyword, start, stop))
        for index, word in enumerate(ws):
            for keyword in self._phrase.get(word, ()):
                stop = index + len(keyword.words)
                if ws[index:stop] == keyword.words:
                    details = message.original.strip()
                    found.add(_Hit(keyword, index, stop, MappingProxyType({"details": details})))
        core = None
        if self._regex and (start, end) != (0, len(ws)):
            core = " ".join(message.normalised.split()[start:end])
        for keyword, pattern in self._regex:
            match = pattern.search(message.normalised)
            if match is None and core is not None:
                match = pattern.search(core)
            if match is not None:
                groups = {name: value for name, value in match.groupdict().items() if value}
                found.add(_Hit(keyword, 0, 0, MappingProxyType(groups)))
        if self._symbols and (start == end or found.hits):
            # An emoji keyword alone ("👍", "👍 thanks") answers; beside words it must agree.
            for keyword in self._symbols.get(symbols(message.original), ()):
                found.add(_Hit(keyword, start, start, _NO_CAPTURES))
        return found.ordered()

    def _keywords_only_hits(self, message: _Message) -> list[_Hit]:
        """Replies made only of one rule's `only` keywords: "yes, I will be there", "ok yes"."""
        start, end = message.start, message.end
        if end - start < 2:
            return []
        mentions = [
            mention
            for mention in self._find_mentions(message)
            if mention.rule.match is MatchKind.only and start <= mention.start < end
        ]
        if len({mention.rule.name for mention in mentions}) != 1:
            return []
        covered: set[int] = set()
        for mention in mentions:
            covered.update(range(mention.start, min(mention.end, end)))
        if covered != set(range(start, end)):
            return []
        return [_Hit(mentions[0].keyword, start, end, _NO_CAPTURES)]

    def _typo_hits(self, message: _Message) -> list[_Hit]:
        start, end = message.start, message.end
        if start == end or not self._typo_index:
            return []
        found = _Best()
        ws = message.words
        tried: set[tuple[int, int]] = set()
        for index in range(start, min(end, start + self._longest)):
            typed = ws[index]
            if not typed.isalpha() or typed in self._not_typos:
                continue
            for form in _forms(typed):
                for keyword, place in self._typo_index.get(form, ()):
                    first = index - place  # where the keyword would start in the message
                    if first != start or (id(keyword), first) in tried:
                        continue
                    tried.add((id(keyword), first))
                    if keyword.rule.match is MatchKind.only:
                        if end - start == len(keyword.words) and self._one_typo(
                            ws[start:end], keyword.words
                        ):
                            found.add(_Hit(keyword, start, end, _NO_CAPTURES, typo=True))
                        continue
                    stop = start + len(keyword.words)
                    if stop <= end and self._one_typo(ws[start:stop], keyword.words):
                        hit = _first_hit(message, keyword, start, stop)
                        found.add(_Hit(keyword, start, stop, hit.captures, True, hit.separator))
        return found.ordered()

    def _one_typo(self, seen: Sequence[str], wanted: Sequence[str]) -> bool:
        """True when `seen` is `wanted` with one typo in one long word."""
        if len(seen) != len(wanted):
            return False
        different = [(a, b) for a, b in zip(seen, wanted, strict=True) if a != b]
        if len(different) != 1:
            return False
        typed, keyword = different[0]
        return (
            len(keyword) >= self._typo_min
            and keyword.isalpha()
            and typed.isalpha()
            and typed not in self._not_typos
            and _one_edit(typed, keyword)
        )

    def _decide_hits(self, message: _Message, hits: list[_Hit]) -> Decision:
        actions = _unique(hit.rule.action for hit in hits)
        if len(actions) > 1:
            return _review(_conflict(actions, [hit.rule.name for hit in hits]))
        hit = hits[0]
        rule = hit.rule
        captures = dict(hit.captures)
        language = hit.keyword.language
        if rule.action is Action.manual:
            return Decision(
                Action.manual,
                rule.name,
                _frozen(captures),
                f"rule '{rule.name}' hands this to a person",
                language=language,
            )
        doubt = self._doubt(message, hit)
        if doubt is None:
            doubt = self._capture(message, hit, captures)
        if doubt is None:
            missing = [name for name in rule.requires if not captures.get(name)]
            if missing:
                doubt = f"rule '{rule.name}' needs {_and_list(missing)} after the keyword"
        if doubt is not None:
            return Decision(None, rule.name, _frozen(captures), doubt, language=language)
        reason = f"matched rule '{rule.name}'"
        if hit.typo:
            reason += f", reading one typo as keyword '{hit.keyword.text}'"
        return self._automatic(hit.keyword, _frozen(captures), reason)

    def _doubt(self, message: _Message, hit: _Hit) -> str | None:
        """Why a person should look at a reply that matched `hit`'s rule, or None."""
        rule = hit.rule
        name = rule.name
        free_text = rule.action in FREE_TEXT_ACTIONS
        whole = rule.match in {MatchKind.only, MatchKind.regex}
        asks = message.question and rule.action not in ANSWER_ACTIONS
        if (whole or not free_text) and asks:
            return f"a question, not an answer (rule '{name}')"
        if rule.match in {MatchKind.only, MatchKind.regex}:
            return None
        outside = [
            (index, word)
            for index, word in enumerate(message.words)
            if not hit.start <= index < hit.end
        ]
        if not free_text:
            for _, word in outside:
                if word in words.NEGATIONS:
                    return f"negation '{word}' with rule '{name}'"
            return self._other_actions(message, hit)
        if rule.match is MatchKind.first:
            if not _QUESTION_MARKS.isdisjoint(hit.separator):
                return f"a question about keyword '{hit.keyword.text}' (rule '{name}')"
            return None
        # A phrase anywhere in free text: "is there a pothole?" asks; "no pothole" denies;
        # "pothole fixed, thanks" says something another rule is about.
        opening = message.words[message.start] if message.start < message.end else ""
        if asks and opening in words.QUESTION_WORDS:
            return f"a question about keyword '{hit.keyword.text}' (rule '{name}')"
        for index, word in outside:
            if hit.start - 3 <= index < hit.start and word in words.NEGATIONS:
                return f"negation '{word}' before keyword '{hit.keyword.text}' (rule '{name}')"
        return self._other_actions(message, hit)

    def _other_actions(self, message: _Message, hit: _Hit) -> str | None:
        """A conflict when the text outside the keyword has another action's keyword in it."""
        rule = hit.rule
        others = [
            mention
            for mention in self._find_mentions(message)
            if mention.rule.action is not rule.action
            and (mention.end <= hit.start or mention.start >= hit.end)
        ]
        if not others:
            return None
        actions = _unique([rule.action, *(other.rule.action for other in others)])
        return _conflict(actions, _unique([rule.name, *(other.rule.name for other in others)]))

    def _capture(self, message: _Message, hit: _Hit, captures: dict[str, str]) -> str | None:
        """Fill `captures` with the rule's reference and rating; a reason when one fails."""
        rule = hit.rule
        source = captures.get("details", message.original)
        expected = self._references.get(hit.keyword.position)
        if expected is not None:
            given = captures.get("reference")
            if given is not None:
                accepted = expected.accept(given)
                if accepted is None:
                    return f"reference is not in the form rule '{rule.name}' expects"
                captures["reference"] = accepted
            else:
                reference = expected.find(source)
                if isinstance(reference, Mismatch):
                    return f"{reference.why} (rule '{rule.name}')"
                if reference is not None:
                    captures["reference"] = reference
        if rule.captures.rating:
            rating = _find_rating(captures.get("rating", source))
            if isinstance(rating, _Failed):
                return f"{rating.why} (rule '{rule.name}')"
            if rating is not None:
                captures["rating"] = rating
            else:
                captures.pop("rating", None)
        return None

    def _explain_miss(self, message: _Message) -> Decision:
        """No rule matched: say what a person will see (a keyword in a longer text, say)."""
        if not message.words:
            return _review(_NO_WORDS)
        mentions = self._find_mentions(message)
        if not mentions:
            return _review("no rule matched", self._language)
        first = mentions[0]
        keyword = first.keyword.text
        names = _unique(mention.rule.name for mention in mentions)
        rule = names[0] if len(names) == 1 else None
        covered = {index for mention in mentions for index in range(mention.start, mention.end)}
        negation = next(
            (
                word
                for index, word in enumerate(message.words)
                if index not in covered and word in words.NEGATIONS
            ),
            None,
        )
        actions = _unique(mention.rule.action for mention in mentions)
        if negation is not None:
            reason = f"negation '{negation}' with keyword '{keyword}'"
        elif message.question:
            reason = f"a question about keyword '{keyword}'"
        elif len(actions) > 1:
            reason = _conflict(actions, names)
        elif first.start <= message.start:
            reason = f"extra text after keyword '{keyword}'"
        else:
            reason = f"extra text around keyword '{keyword}'"
        return Decision(None, rule, _NO_CAPTURES, reason, language=first.keyword.language)

    def _find_mentions(self, message: _Message) -> list[_Hit]:
        """Every keyword of every rule appearing anywhere in the message, in text order."""
        if message.mentions is not None:
            return message.mentions
        found: list[_Hit] = []
        message.mentions = found
        ws = message.words
        for index, word in enumerate(ws):
            for keyword in self._mentions.get(word, ()):
                stop = index + len(keyword.words)
                if ws[index:stop] == keyword.words:
                    found.append(_Hit(keyword, index, stop, _NO_CAPTURES))
        return found


def rules_region(rules: ServiceRules) -> frozenset[str]:
    """The carrier opt-out words honoured before `rules` (by the service's region)."""
    return opt_out_words(rules.service.region)


def decide(rules: ServiceRules, text: str) -> Decision:
    """Decide one message against `rules`; build a `Matcher` instead when deciding many."""
    return Matcher(rules).decide(text)


_NO_WORDS = "no words to match, only punctuation, symbols or emoji"


class _Best:
    """Each matching rule once, with its longest matching keyword."""

    def __init__(self) -> None:
        self.hits: dict[int, _Hit] = {}

    def add(self, hit: _Hit) -> None:
        position = hit.keyword.position
        current = self.hits.get(position)
        if current is None or hit.end - hit.start > current.end - current.start:
            self.hits[position] = hit

    def ordered(self) -> list[_Hit]:
        return [self.hits[position] for position in sorted(self.hits)]


@dataclass(frozen=True, slots=True)
class _Failed:
    why: str


def _review(reason: str, language: str | None = None) -> Decision:
    return Decision(None, None, _NO_CAPTURES, reason, language=language)


def _frozen(captures: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(captures) if captures else _NO_CAPTURES


def _flag_opt_out(message: _Message, decision: Decision) -> Decision:
    """A reply going to a person that asks to stop messages is flagged for the reviewer."""
    if decision.action is Action.opt_out:
        return decision
    said = next((word for word in message.words if word in words.OPT_OUT_WORDS), None)
    if said is None and not words.contains_phrase(message.words, words.OPT_OUT_PHRASES):
        return decision
    reason = "possible opt-out request in a longer message"
    if decision.reason != "no rule matched":
        reason += f"; {decision.reason}"
    return dataclasses.replace(decision, reason=reason, flags=decision.flags | {OPT_OUT_FLAG})


def _unique(items: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(items))


def _conflict(actions: Sequence[Action], names: Sequence[str]) -> str:
    rules = _and_list([f"'{name}'" for name in names])
    return f"matched {_and_list([str(action) for action in actions])} (rules {rules})"


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _forms(word: str) -> list[str]:
    """The word and each of its one-letter deletions: two words one edit apart share one."""
    return [word, *(word[:index] + word[index + 1 :] for index in range(len(word)))]


def _one_edit(typed: str, keyword: str) -> bool:
    """Damerau–Levenshtein distance at most one: one letter added, dropped, changed or swapped."""
    if typed == keyword:
        return True
    short, long = (typed, keyword) if len(typed) <= len(keyword) else (keyword, typed)
    if len(long) - len(short) > 1:
        return False
    if len(short) == len(long):
        differ = [index for index in range(len(short)) if short[index] != long[index]]
        if len(differ) == 1:
            return True
        first, second = differ[0], differ[-1]
        return (
            len(differ) == 2
            and second == first + 1
            and short[first] == long[second]
            and short[second] == long[first]
        )
    index = 0
    while index < len(short) and short[index] == long[index]:
        index += 1
    return short[index:] == long[index + 1 :]


def _first_hit(message: _Message, keyword: _Keyword, start: int, stop: int) -> _Hit:
    separator, details = _split_after(message, stop)
    captures = MappingProxyType({"details": details}) if details else _NO_CAPTURES
    return _Hit(keyword, start, stop, captures, separator=separator)


def _split_after(message: _Message, count: int) -> tuple[str, str]:
    """The separator and the original text after the first `count` words, tidied.

    People want to read what was sent, so details keep the original spelling and symbols.
    """
    original = message.original
    if original.isascii():
        # Words are runs of letters, digits and apostrophes, as `normalise` reads ASCII.
        ends = [match.end() for match in _ASCII_WORD.finditer(original)]
        if len(ends) >= count:
            rest = original[ends[count - 1] :]
            details = _strip_separators(rest)
            return rest[: len(rest) - len(rest.lstrip(_SEPARATORS + " \t\r\n"))], details
    wanted = message.words[:count]
    # The keyword ends at the first word boundary where the original so far normalises to it.
    for end in _word_ends(original):
        seen = tuple(squeeze(normalise(original[:end])).split())
        if len(seen) >= count:
            if seen[:count] == wanted:
                rest = original[end:]
                details = _strip_separators(rest)
                return rest[: len(rest) - len(rest.lstrip(_SEPARATORS + " \t\r\n"))], details
            break
    # Only reached by odd texts (symbols that fold into letters); never lose the details.
    return "", " ".join(message.words[count:])


_ASCII_WORD = re.compile(r"'*[A-Za-z0-9][A-Za-z0-9']*")


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


_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_OUT_OF = re.compile(r"(\d+)\s*(?:/|out of|outof)\s*(\d+)")
_DIGITS = re.compile(r"\d+")
_STARS = frozenset("⭐★🌟")


def _find_rating(source: str) -> str | _Failed | None:
    """A rating from 1 to 5 ("4", "4/5", "4 out of 5", "four", "⭐⭐⭐⭐"), a failure, or None."""
    text = unicodedata.normalize("NFKC", source).casefold()
    values: set[int] = set()
    scale = _OUT_OF.search(text)
    if scale is not None:
        if scale.group(2) != "5":
            return _Failed(f"a rating out of {scale.group(2)}, not out of 5")
        values.add(int(scale.group(1)))
        text = text[: scale.start()] + " " + text[scale.end() :]
    values.update(int(number) for number in _DIGITS.findall(text) if len(number) <= 3)
    values.update(_NUMBER_WORDS[word] for word in normalise(text).split() if word in _NUMBER_WORDS)
    if not values:
        stars = sum(1 for char in source if char in _STARS)
        if not stars:
            return None
        values.add(stars)
    if len(values) > 1:
        return _Failed("more than one number where one rating was expected")
    value = values.pop()
    if not 1 <= value <= 5:
        return _Failed("a rating must be from 1 to 5")
    return str(value)
