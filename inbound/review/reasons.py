"""Why an item is in the queue, in words a caseworker reads at a glance. Pure.

The stored reason is written for whoever tunes the rules ("extra text around keyword 'can't make
it'", "matched confirm and cancel (rules 'confirm' and 'cancel')"). Each of its clauses (joined
by "; ") is matched against the shapes the rules, the prompt matcher, the action worker and the
dead-letter handler write, and said again as a sentence about the reply. A clause of a shape not
listed here is shown as it was stored: never hidden, only not reworded. Service admins see the
stored reason too, behind "Rule details".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from inbound.review.labels import label
from inbound.rules.model import ServiceRules

# A clause's shape, and how to say it; the groups are the clause's own words.
Say = Callable[[re.Match[str], ServiceRules | None], str]


def _quoted(text: str) -> str:
    return f"\u201c{text}\u201d"


# Actions no caseworker decides, said as what the reply asks for.
_NOT_DECIDED = {
    "manual": "something a person handles",
    "help": "help",
    "reply": "an answer by text",
}


def _action(name: str, service: ServiceRules | None) -> str:
    """An action as the decision buttons name it ("Confirm the appointment")."""
    name = name.strip()
    return _NOT_DECIDED.get(name) or _quoted(label(service, name))


def _actions(listed: str, service: ServiceRules | None) -> str:
    names = [part for part in re.split(r",\s*|\s+and\s+", listed) if part]
    said = [_action(name, service) for name in names]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " or " + said[-1]


_SHAPES: tuple[tuple[re.Pattern[str], Say], ...] = tuple(
    (re.compile(pattern), say)
    for pattern, say in (
        (
            r"a question, not an answer",
            lambda m, _: "The reply asks a question rather than answering.",
        ),
        (
            r"negation '(?P<neg>[^']+)' with rule '[^']+'",
            lambda m, _: f"The reply also says {_quoted(m['neg'])}: it may mean the opposite.",
        ),
        (
            r"negation '(?P<neg>[^']+)' (?:with|before) keyword '(?P<kw>[^']+)'",
            lambda m, _: (
                f"The reply says {_quoted(m['kw'])} but also {_quoted(m['neg'])}: "
                "it may mean the opposite."
            ),
        ),
        (
            r"a question about keyword '(?P<kw>[^']+)'",
            lambda m, _: (
                f"The reply asks a question about {_quoted(m['kw'])} rather than answering."
            ),
        ),
        (
            r"extra text after keyword '(?P<kw>[^']+)'",
            lambda m, _: (
                f"The reply starts with {_quoted(m['kw'])} but goes on to say more, "
                "such as a question or a change."
            ),
        ),
        (
            r"extra text around keyword '(?P<kw>[^']+)'",
            lambda m, _: f"The reply mentions {_quoted(m['kw'])} among other words.",
        ),
        (
            r"matched (?P<actions>.+) \(rules? .+\)",
            lambda m, service: (
                f"The reply could mean more than one thing: {_actions(m['actions'], service)}."
            ),
        ),
        (
            r"matched rule '[^']+'(?:, reading one typo as keyword '[^']+')?",
            lambda m, _: "This service's rules send replies like this one to a person.",
        ),
        (
            r"rule '[^']+' hands this to a person",
            lambda m, _: "The reply asks for something this service has a person handle.",
        ),
        (
            r"rule '[^']+' needs (?P<what>.+) after the keyword",
            lambda m, _: (
                f"The reply has the keyword but not the {m['what']} this service needs after it."
            ),
        ),
        (r"no rule matched", lambda m, _: "None of the service's keywords is in the reply."),
        (
            r"no words to match.*",
            lambda m, _: "The reply has no words, only punctuation, symbols or emoji.",
        ),
        (r"empty message", lambda m, _: "The reply is empty."),
        (
            r"possible opt-out request in a longer message",
            lambda m, _: "The reply may be asking for no more messages, among other words.",
        ),
        (
            r"reference is not in the form rule '[^']+' expects|the reference is not in the "
            r"expected form.*",
            lambda m, _: "The reference in the reply is not in the form this service uses.",
        ),
        (
            r"a rating out of (?P<scale>\d+), not out of 5.*",
            lambda m, _: f"The reply gives a rating out of {m['scale']}, not out of 5.",
        ),
        (
            r"more than one number where one rating was expected.*",
            lambda m, _: "The reply has more than one number where one rating was expected.",
        ),
        (
            r"a rating must be from 1 to 5.*",
            lambda m, _: "The rating in the reply is not from 1 to 5.",
        ),
        (
            r"no service owns .*",
            lambda m, _: "The reply was sent to a number no service here uses.",
        ),
        (
            r"not one of the answers this reminder asked for: (?P<act>\w+) \(reminder "
            r"(?P<ref>.+) expects (?P<expects>.+)\)",
            lambda m, service: (
                f"The reply means {_action(m['act'], service)}, which reminder "
                f"{m['ref']} did not ask for."
            ),
        ),
        (
            r"changes an earlier answer to reminder (?P<ref>.+) \((?P<before>\w+) to "
            r"(?P<after>\w+)\)",
            lambda m, service: (
                f"The reply changes the answer to reminder {m['ref']} from "
                f"{_action(m['before'], service)} to {_action(m['after'], service)}."
            ),
        ),
        (
            r"changes an earlier answer.*",
            lambda m, _: "The reply changes an answer given before.",
        ),
        (
            r"came (?P<late>.+) after the reminder expired \((?P<ref>.+)\)",
            lambda m, _: f"The reply came {m['late']} after reminder {m['ref']} expired.",
        ),
        (
            r"(?P<count>\d+) reminders are open \((?P<refs>.+)\) and the reply doesn't say "
            r"which it answers",
            lambda m, _: (
                f"{m['count']} reminders are waiting for an answer ({m['refs']}) and "
                "the reply doesn't say which it answers."
            ),
        ),
        (
            r"names (?P<named>.+), which is none of the reminders sent to this number .*",
            lambda m, _: (
                f"The reply names {m['named']}, which is none of the reminders sent to this number."
            ),
        ),
        (
            r"no reminder asked this number for a reply.*",
            lambda m, _: (
                "No reminder asked this number for a reply, and this service has a "
                "person read such replies."
            ),
        ),
        (
            r"most likely about reminder (?P<ref>.+)",
            lambda m, _: f"It is most likely about reminder {m['ref']}.",
        ),
        (
            r"reminders sent to this number: (?P<refs>.+)",
            lambda m, _: f"Reminders sent to this number: {m['refs']}.",
        ),
        (
            r"(?P<kind>callback|reply) failed: .+ after (?P<n>\d+) attempts",
            lambda m, _: (
                (
                    "The service could not be told about the decision"
                    if m["kind"] == "callback"
                    else "The automatic text back could not be sent"
                )
                # A refusal such as Notify's 400 is final at the first try: "1 try", not "1 tries".
                + f" after {m['n']} {'try' if m['n'] == '1' else 'tries'}: see \u201cCould not be "
                "delivered\u201d."
            ),
        ),
        (
            r"processing failed.*",
            lambda m, _: "inbound could not process this reply automatically; a person decides.",
        ),
    )
)


# The rule a clause names, at its end: for the rule details, not for the sentence.
_RULE_NAMED = re.compile(r" \(rule '[^']*'\)$")


def reason_in_words(reason: str, service: ServiceRules | None = None) -> str:
    """The stored review reason as sentences for a caseworker (actions named as `service`'s
    decisions name them); a clause of an unknown shape as stored."""
    sentences: list[str] = []
    for clause in (_RULE_NAMED.sub("", part.strip()) for part in reason.split(";")):
        if not clause:
            continue
        for shape, say in _SHAPES:
            found = shape.fullmatch(clause)
            if found is not None:
                sentences.append(say(found, service))
                break
        else:
            sentences.append(clause[:1].upper() + clause[1:] + ("" if clause[-1] in ".!?" else "."))
    return " ".join(sentences)


# Clauses whose sentence names one item's details (a reminder's reference, how late it came, a
# failed delivery's error): counted together, in words that name none of them. Any other
# clause's group is its own sentence, so the counts read as the rows do.
_GENERAL: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (
            r"not one of the answers this reminder asked for: .*",
            "The reply gives an answer its reminder did not ask for.",
        ),
        (r"changes an earlier answer.*", "The reply changes an answer given before."),
        (
            r"differs from the answer recorded for reminder .*",
            "The reply differs from an answer already recorded, which came after it.",
        ),
        (r"came .+ after the reminder expired.*", "The reply came after its reminder expired."),
        (
            r"\d+ reminders are open .*",
            "Several reminders are waiting for an answer and the reply doesn't say which it "
            "answers.",
        ),
        (
            r"names .+, which is none of the reminders sent to this number.*",
            "The reply names a reminder that was not sent to this number.",
        ),
        (
            r"(?:most likely about reminder|reminders sent to this number:) .+",
            "The reply may be about a reminder sent to this number.",
        ),
        (r"a rating out of \d+, not out of 5.*", "The reply gives a rating not out of 5."),
        (
            r"callback failed: .*",
            "The service could not be told about the decision: see \u201cCould not be "
            "delivered\u201d.",
        ),
        (
            r"reply failed: .*",
            "The automatic text back could not be sent: see \u201cCould not be delivered\u201d.",
        ),
    )
)

# The group of a reason with no words at all (an empty stored reason).
NO_REASON = "No reason was recorded."


# Remembered: the queue page groups every distinct stored reason of its filter on each view
# (1,000 reminders' reasons took 9 ms of regular expressions a page), and they repeat.
@functools.lru_cache(maxsize=4096)
def reason_group(reason: str) -> str:
    """The words a reason is counted under on the queue: its first clause's sentence, or
    general words when that sentence names one item's details."""
    first = next(
        (clause for part in reason.split(";") if (clause := _RULE_NAMED.sub("", part.strip()))),
        "",
    )
    if not first:
        return NO_REASON
    for shape, words in _GENERAL:
        if shape.fullmatch(first):
            return words
    return reason_in_words(first)
