"""Adding a suggested keyword (`inbound.rules.suggestions`) to a service's rules: where it goes,
the language a person must choose when the service has several, and the YAML with it (issue 18).
Pure: YAML and rules in, YAML out.

It goes where mining replayed it (`with_keyword`): the first `match: only` rule with the action
that needs no captures, else a new rule of its own. A rule listing its keywords by language
takes the keyword under a language the person chooses, and so does a new rule in a service of
several languages: which language a reply is in decides the auto-reply it gets, and is never
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbound.rules.editing import add_keywords, add_rule
from inbound.rules.language import language_name
from inbound.rules.model import Action, MatchKind, Rule, ServiceRules
from inbound.rules.suggestions import key, with_keyword


class LanguageNeeded(Exception):
    """The keyword can go under more than one language: the person must say which."""


@dataclass(frozen=True)
class Placement:
    """Where a suggested keyword goes in a service's rules."""

    rule: str  # the rule it joins, or the name of the new rule it becomes
    new: bool  # a rule of its own, added last
    # The languages a person chooses from (the service's, its default first); () when the
    # keyword's language follows from where it goes (a plain list: the service's language).
    languages: tuple[str, ...]
    default_language: str  # the service's: the language of a plain list
    several: bool  # the service writes in more than one language


def placement(rules: ServiceRules, keyword: str, action: Action) -> Placement:
    """Where `keyword` for `action` goes in `rules`, as the suggestion was replayed."""
    changed, joined = with_keyword(rules, keyword, action)
    default = rules.service.language
    languages = (default, *sorted(rules.languages() - {default}))
    several = len(languages) > 1
    if joined is not None:
        return Placement(joined, False, (), default, several)  # a plain list joined
    listed = next((rule for rule in rules.rules if _takes(rule, action)), None)
    if listed is not None:  # with_keyword passed it over: its keywords are listed by language
        return Placement(listed.name, False, languages, default, several)
    return Placement(changed.rules[-1].name, True, languages if several else (), default, several)


def _takes(rule: Rule, action: Action) -> bool:
    return rule.action is action and rule.match is MatchKind.only and not rule.requires


def adopt(
    text: str, rules: ServiceRules, keyword: str, action: Action, language: str | None
) -> tuple[str, Placement]:
    """`text` (the YAML of `rules`) with `keyword` added for `action`, and where it went.
    `LanguageNeeded` when there is a choice of language and `language` isn't one of them."""
    where = placement(rules, keyword, action)
    if where.languages and language not in where.languages:
        raise LanguageNeeded(f"say which language “{keyword}” is in: {', '.join(where.languages)}")
    chosen = language if where.languages else None
    if not where.new:
        return add_keywords(text, where.rule, [keyword], chosen), where
    keywords: list[str] | dict[str, list[str]] = (
        [keyword] if chosen is None else {chosen: [keyword]}
    )
    rule = Rule.model_validate(
        {"name": where.rule, "keywords": keywords, "match": "only", "action": action.value}
    )
    return add_rule(text, rule), where


def in_words(keyword: str, action: Action, where: Placement, language: str | None = None) -> str:
    """What adding it does, as a sentence without its full stop: “Add “yes pls” to rule
    'confirm' (confirm)”, or “… as a new rule 'suggested confirm' (confirm)”."""
    target = f"as a new rule '{where.rule}'" if where.new else f"to rule '{where.rule}'"
    said = f"Add “{keyword}” {target} ({action.value})"
    if language is not None:
        return f"{said}, in {language_name(language)}"
    if where.languages:
        names = [language_name(code) for code in where.languages]
        return f"{said}, in {', '.join(names[:-1])} or {names[-1]}"
    if where.several and not where.languages:
        return f"{said}, in the service's language, {language_name(where.default_language)}"
    return said


def added_banner(rules: ServiceRules, number: int | None, keyword: str) -> str | None:
    """The draft page's banner after a suggestion was added to rule `number` (from 1) of the
    draft's `rules`; None unless that rule holds `keyword`, so a link can't make it say more."""
    if number is None or not 1 <= number <= len(rules.rules) or not key(keyword):
        return None
    rule = rules.rules[number - 1]
    if key(keyword) not in {key(word) for word in rule.keywords}:
        return None
    return (
        f"“{keyword}” added to rule ‘{rule.name}’ from the review queue's suggestions. "
        "Nothing changes until the draft is published."
    )
