"""Warnings about valid rule files that probably don't do what their author meant. Pure.

`inbound rules check` prints these beside errors; they never stop a file loading. Every warning
comes from the matcher itself: the lint writes replies made of a keyword (the keyword alone, and
for `first` and `phrase` rules with words around it), decides them with `Matcher` as the rules
worker would, and warns only about what it saw. Each warning names one such reply (`example`),
so `inbound rules test FILE --text EXAMPLE` shows the same thing. Most warnings are replies a
rule doesn't get; one is a reply it gets but answers in another language than the person's (a
rule with Welsh keywords and no Welsh reply).
"""

from __future__ import annotations

from dataclasses import dataclass

from inbound.rules import words
from inbound.rules.match import Decision, Matcher
from inbound.rules.model import CARRIER_RULE, MatchKind, Rule, ServiceRules
from inbound.rules.normalise import normalise, squeeze

Loc = tuple[str | int, ...]

# Words put around a keyword to make a longer reply; the first that is no keyword's word and no
# greeting or closing (which the matcher sets aside) is used, so they never match a rule.
_LEADS = ("i think", "also", "and", "the")
_TAILS = ("today", "tomorrow", "this week", "later on")


@dataclass(frozen=True)
class RuleWarning:
    """One warning: where in the file (`loc`), what looks wrong, a plain fix, and a reply that
    shows it (`example`) with what the matcher does with it (`decided_by`: the rule that acts
    on it, or None when a person decides). `rule` names the rule the warning is about; it acts
    on the example only in a warning about the reply's language (`loc` ends in "reply")."""

    loc: Loc
    problem: str
    fix: str
    example: str = ""
    rule: str = ""
    decided_by: str | None = None


def lint(rules: ServiceRules) -> list[RuleWarning]:
    """Every warning for one service's rules, in file order."""
    found = _Lint(rules).run()
    # Two rules that send the same reply astray both see it: warn once, at the later one.
    last = {warning.example: warning for warning in found if warning.loc[-2:-1] == ("keywords",)}
    found = [w for w in found if w.loc[-2:-1] != ("keywords",) or last[w.example] is w]
    return sorted(found, key=lambda warning: tuple(str(part).zfill(6) for part in warning.loc))


def picks(decision: Decision, rule: Rule) -> bool:
    """True when `decision` is `rule` acting on the reply (or handing it over, for `manual`)."""
    return decision.rule == rule.name and decision.action is rule.action


class _Lint:
    def __init__(self, rules: ServiceRules) -> None:
        self.rules = rules
        self.full = Matcher(rules)
        known = {
            word
            for rule in rules.rules
            if rule.match is not MatchKind.regex
            for keyword in rule.keywords
            for word in _words(keyword).split()
        }
        self.lead = next((lead for lead in _LEADS if _neutral(lead, known, True)), _LEADS[0])
        self.tail = next((tail for tail in _TAILS if _neutral(tail, known, False)), _TAILS[0])

    def _only(self, *kept: Rule) -> Matcher:
        return Matcher(self.rules.model_copy(update={"rules": list(kept)}))

    def probes(self, rule: Rule, keyword: str) -> list[str]:
        """Replies made of `keyword` that its rule, alone, would act on (or would, but for a
        carrier opt-out word, which comes before every rule)."""
        text = keyword.strip()
        written = [text]
        if rule.match is MatchKind.first:
            written.append(f"{text} {self.tail}")
        elif rule.match is MatchKind.phrase:
            written += [
                f"{text} {self.tail}",
                f"{self.lead} {text}",
                f"{self.lead} {text} {self.tail}",
            ]
        alone = self._only(rule)
        kept = []
        for reply in written:
            decision = alone.decide(reply)
            if picks(decision, rule) or decision.rule == CARRIER_RULE:
                kept.append(reply)
        return kept

    def run(self) -> list[RuleWarning]:
        found: list[RuleWarning] = []
        for index, rule in enumerate(self.rules.rules):
            if rule.match is MatchKind.regex:
                continue  # patterns can't be enumerated
            reached = False
            first_miss: str | None = None
            for number, keyword in enumerate(rule.keywords):
                probes = self.probes(rule, keyword)
                reached = reached or any(picks(self.full.decide(p), rule) for p in probes)
                if first_miss is None and probes:
                    first_miss = probes[0]
                warning = self._keyword(index, number, rule, keyword, probes)
                if warning is not None:
                    found.append(warning)
            if not reached and first_miss is not None:
                found.append(self._unreachable(index, rule, first_miss))
            found.extend(self._untranslated(index, rule))
        return found

    def _untranslated(self, index: int, rule: Rule) -> list[RuleWarning]:
        """A warning for each language the rule's keywords are in and its reply is not: the
        person who wrote in it is answered in another language. One reply shows it: the first
        of that language's keywords the rule acts on, answered in another language."""
        if rule.reply is None:
            return []
        found: list[RuleWarning] = []
        default = self.rules.service.language
        for language, keywords in rule.keywords.by_language().items():
            written = language or default
            for keyword in keywords:
                shown = next(
                    (
                        (reply, decision)
                        for reply in self.probes(rule, keyword)
                        for decision in [self.full.decide(reply)]
                        if picks(decision, rule)
                        and decision.language == written
                        and decision.reply_language not in {None, written}
                    ),
                    None,
                )
                if shown is None:
                    continue
                reply, decision = shown
                found.append(
                    RuleWarning(
                        ("rules", index, "reply"),
                        f"rule '{rule.name}' has keywords in {written} but no reply in "
                        f"{written}: a reply such as {reply!r} is answered in "
                        f"{decision.reply_language}",
                        f"write the reply in {written} too, e.g. reply: {{{default}: ..., "
                        f"{written}: ...}}",
                        reply,
                        rule.name,
                        rule.name,
                    )
                )
                break
        return found

    def _keyword(
        self, index: int, number: int, rule: Rule, keyword: str, probes: list[str]
    ) -> RuleWarning | None:
        """A warning when other rules take some of this keyword's replies away (to another
        action or to a person), or take all of them."""
        lost = [reply for reply in probes if not picks(self.full.decide(reply), rule)]
        if not lost:
            return None
        every = len(lost) == len(probes)
        for reply in lost:
            decision = self.full.decide(reply)
            if picks(decision, rule):
                continue
            loc: Loc = ("rules", index, "keywords", number)
            decided_by = decision.rule if decision.automatic else None
            if decision.rule == CARRIER_RULE:
                word = reply.upper()
                return RuleWarning(
                    loc,
                    f"{word} is a carrier opt-out word in {self.rules.service.region}: a reply "
                    f"of just {word} opts the sender out before rule '{rule.name}' sees it",
                    f"use another keyword (e.g. '{keyword} appointment'), or leave {word} to "
                    "opt people out",
                    reply,
                    rule.name,
                    decided_by,
                )
            other = self._culprit(index, rule, reply)
            if decision.automatic:
                if decision.action is rule.action and not every:
                    continue  # another rule with the same action answers it: the same result
                same = " with the same action" if decision.action is rule.action else ""
                taken = "never picks" if every else "doesn't pick"
                return RuleWarning(
                    loc,
                    f"keyword {keyword!r} {taken} rule '{rule.name}': a reply such as "
                    f"{reply!r} is decided by rule '{decision.rule}' ({decision.action})"
                    f"{', which comes first' + same if other == decision.rule else ''}",
                    "remove it from one of the two rules",
                    reply,
                    rule.name,
                    decided_by,
                )
            also = f" also matches rule '{other}'," if other else ""
            return RuleWarning(
                loc,
                f"keyword {keyword!r}{also} so a reply such as {reply!r} goes to a person, "
                f"not to rule '{rule.name}': {decision.reason}",
                "remove it from one of the two rules, or make the keywords distinct",
                reply,
                rule.name,
                decided_by,
            )
        return None

    def _culprit(self, index: int, rule: Rule, reply: str) -> str | None:
        """The first other rule that, beside `rule` alone (in file order), stops it acting on
        `reply`."""
        for place, other in enumerate(self.rules.rules):
            pair = (other, rule) if place < index else (rule, other)
            if place != index and not picks(self._only(*pair).decide(reply), rule):
                return other.name
        return None

    def _unreachable(self, index: int, rule: Rule, reply: str) -> RuleWarning:
        decision = self.full.decide(reply)
        if decision.rule == CARRIER_RULE:
            now = "opts the sender out: a carrier opt-out word"
        elif decision.automatic:
            now = f"is decided by rule '{decision.rule}' ({decision.action})"
        else:
            now = f"goes to a person ({decision.reason})"
        return RuleWarning(
            ("rules", index, "name"),
            f"rule '{rule.name}' is unreachable: its keywords never pick it, alone or with words "
            f"around them (a reply such as {reply!r} {now})",
            "give it keywords of its own, or remove it",
            reply,
            rule.name,
            decision.rule if decision.automatic else None,
        )


def _neutral(added: str, known: set[str], before: bool) -> bool:
    """True when `added` shares no word with a keyword and the matcher keeps it as text."""
    extra = tuple(added.split())
    tokens = (*extra, "x") if before else ("x", *extra)
    return known.isdisjoint(extra) and words.strip_fillers(tokens) == (0, len(tokens))


def _words(keyword: str) -> str:
    return squeeze(normalise(keyword))
