"""Warnings about valid rule files that probably don't do what their author meant. Pure.

`inbound rules check` prints these beside errors; they never stop a file loading.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbound.rules.carrier import opt_out_words
from inbound.rules.match import Matcher
from inbound.rules.model import Action, MatchKind, Rule, ServiceRules
from inbound.rules.normalise import normalise, squeeze

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class RuleWarning:
    """One warning: where in the file (`loc`), what looks wrong, and a plain fix."""

    loc: Loc
    problem: str
    fix: str


def lint(rules: ServiceRules) -> list[RuleWarning]:
    """Every warning for one service's rules, in file order."""
    found = [*_reserved_words(rules), *_overlaps(rules), *_unreachable(rules)]
    return sorted(found, key=lambda warning: tuple(str(part).zfill(6) for part in warning.loc))


def _words(keyword: str) -> str:
    return squeeze(normalise(keyword))


def _reserved_words(rules: ServiceRules) -> list[RuleWarning]:
    region = rules.service.region
    reserved = {squeeze(word): word for word in opt_out_words(region)}
    found: list[RuleWarning] = []
    for index, rule in enumerate(rules.rules):
        if rule.match is MatchKind.regex or rule.action is Action.opt_out:
            continue
        for number, keyword in enumerate(rule.keywords):
            word = reserved.get(_words(keyword))
            if word is None:
                continue
            found.append(
                RuleWarning(
                    ("rules", index, "keywords", number),
                    f"{word.upper()} is a carrier opt-out word in {region}: a reply of just "
                    f"{word.upper()} opts the sender out before rule '{rule.name}' sees it",
                    f"use another keyword (e.g. '{keyword} appointment'), or leave "
                    f"{word.upper()} to opt people out",
                )
            )
    return found


def _overlaps(rules: ServiceRules) -> list[RuleWarning]:
    """Keywords that make two rules match the same reply."""
    found: list[RuleWarning] = []
    seen: list[tuple[int, Rule, int, tuple[str, ...]]] = []
    for index, rule in enumerate(rules.rules):
        if rule.match is MatchKind.regex:
            continue
        for number, keyword in enumerate(rule.keywords):
            words = tuple(_words(keyword).split())
            if not words:
                continue
            for other_index, other, _, other_words in seen:
                if other_index == index or not _both_match(other, other_words, rule, words):
                    continue
                found.append(_overlap_warning(index, number, rule, keyword, other))
                break
            seen.append((index, rule, number, words))
    return found


def _both_match(
    first: Rule, first_words: tuple[str, ...], then: Rule, words: tuple[str, ...]
) -> bool:
    """True when some reply matches both keywords (e.g. `only` "cancel it", `first` "cancel")."""

    def covers(rule: Rule, keyword: tuple[str, ...], reply: tuple[str, ...]) -> bool:
        if rule.match is MatchKind.only:
            return keyword == reply
        if rule.match is MatchKind.first:
            return reply[: len(keyword)] == keyword
        return any(reply[i : i + len(keyword)] == keyword for i in range(len(reply)))

    return covers(first, first_words, words) or covers(then, words, first_words)


def _overlap_warning(index: int, number: int, rule: Rule, keyword: str, other: Rule) -> RuleWarning:
    loc = ("rules", index, "keywords", number)
    if other.action is rule.action:
        return RuleWarning(
            loc,
            f"keyword {keyword!r} also matches rule '{other.name}', which comes first with the "
            f"same action, so this keyword never picks rule '{rule.name}'",
            "remove it from one of the two rules",
        )
    return RuleWarning(
        loc,
        f"keyword {keyword!r} also matches rule '{other.name}' ({other.action}), so such "
        f"replies always go to a person",
        "remove it from one of the two rules, or make the keywords distinct",
    )


def _unreachable(rules: ServiceRules) -> list[RuleWarning]:
    """Rules that no reply made of their own keywords ever picks."""
    matcher = Matcher(rules)
    found: list[RuleWarning] = []
    for index, rule in enumerate(rules.rules):
        if rule.match is MatchKind.regex:
            continue  # patterns can't be enumerated
        if any(matcher.decide(keyword).rule == rule.name for keyword in rule.keywords):
            continue
        found.append(
            RuleWarning(
                ("rules", index, "name"),
                f"rule '{rule.name}' is unreachable: every one of its keywords is taken by an "
                "earlier rule, another rule's action or a carrier opt-out word",
                "give it keywords of its own, or remove it",
            )
        )
    return found
