"""The rule editor's form: a rule as the fields a service team fills in, and back, with each
error on the field it is about (issue 18). Pure: no I/O.

Keywords are one a line; a service whose rules list keywords or replies by language gets one
field per language. A reference is none, a named format (no regular expression needed), or a
regular expression for the cases formats don't cover. Errors are `FieldError`s named by the
HTML id of the field, so a page shows them as the GOV.UK Design System does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from inbound.rules import reference_formats
from inbound.rules.errors import RuleValueError
from inbound.rules.model import CAPTURE_NAMES, Action, MatchKind, Rule, ServiceRules
from inbound.rules.reference_formats import Reference

# How keywords match, in plain words, in the order the form offers them.
MATCH_WORDS: Mapping[MatchKind, tuple[str, str]] = {
    MatchKind.only: (
        "The reply is just the keyword",
        "Greetings, thanks and emoji around it are fine: “Yes please, thanks” matches yes.",
    ),
    MatchKind.first: (
        "The reply starts with the keyword",
        "What follows is kept as the details: “Report broken street light” matches report.",
    ),
    MatchKind.phrase: (
        "The keyword appears anywhere in the reply",
        "The whole reply is kept as the details: “sorry I can't make it” matches can't make it.",
    ),
    MatchKind.regex: (
        "Each keyword is a regular expression (advanced)",
        "Searched in the reply in lower case, with punctuation removed.",
    ),
}

# What each action does, for the form's radios when the rule file has no label for it.
ACTION_WORDS: Mapping[Action, str] = {
    Action.confirm: "Confirm",
    Action.cancel: "Cancel",
    Action.change: "Ask to change",
    Action.report: "Pass on a report",
    Action.register: "Register",
    Action.follow_up: "Ask for a follow-up",
    Action.feedback: "Pass on feedback",
    Action.opt_out: "Opt out of messages",
    Action.opt_in: "Opt back in to messages",
    Action.help: "Send the help reply",
    Action.reply: "Send the reply only",
    Action.manual: "A person decides",
}

CAPTURE_WORDS: Mapping[str, str] = {
    "details": "The details (the words after or around the keyword)",
    "reference": "The reference",
    "rating": "The rating",
}

# The reference choice's radios.
NO_REFERENCE, FORMAT, REGEX = "none", "format", "regex"


@dataclass(frozen=True)
class FormatChoice:
    """One named reference format the form offers."""

    value: str
    label: str
    counts: tuple[str, ...] = ()  # the counts it needs: "letters", "digits"
    region: str | None = None  # the only region it is for


FORMATS = (
    FormatChoice("digits", "Digits only, like 123456", ("digits",)),
    FormatChoice("letters_digits", "Letters then digits, like AB123456", ("letters", "digits")),
    FormatChoice("letters_then_digits", "1 to 3 letters then 4 to 10 digits, like HB12345"),
    FormatChoice("postcode", "A postcode, like SW1A 1AA", region="GB"),
    FormatChoice("nhs_number", "An NHS number (10 digits)", region="GB"),
    FormatChoice("ni_number", "A National Insurance number, like QQ 12 34 56 C", region="GB"),
)
_COUNT = re.compile(r"^\s*(\d{1,3})\s*(?:(?:-|–|to)\s*(\d{1,3})\s*)?$")


def formats_for(region: str) -> tuple[FormatChoice, ...]:
    """The formats a service in `region` may use."""
    return tuple(choice for choice in FORMATS if choice.region in (None, region))


def languages_of(service: ServiceRules) -> tuple[str, ...] | None:
    """The languages the form asks keywords and replies in, the service's first; None when no
    rule lists them by language (one field each)."""
    by_language = any(
        any(language is not None for language in rule.keywords.languages)
        or rule.reply_languages() is not None
        for rule in service.rules
    )
    if not by_language:
        return None
    default = service.service.language
    return (default, *sorted(service.languages() - {default}))


@dataclass(frozen=True)
class RuleForm:
    """The rule editor's fields as typed. `keywords` and `reply` are by language ("" when the
    service doesn't list them by language)."""

    name: str = ""
    keywords: Mapping[str, str] = field(default_factory=dict)
    match: str = MatchKind.only.value
    action: str = ""
    reference: str = NO_REFERENCE
    reference_format: str = ""
    letters: str = ""
    digits: str = ""
    regex: str = ""
    rating: bool = False
    requires: tuple[str, ...] = ()
    reply: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldError:
    """One error: the id of the field it is about (None: about no one field) and the words."""

    field: str | None
    message: str


class FormErrors(Exception):
    """The form can't be a rule; `errors` says why, field by field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = list(errors)


def keywords_id(language: str) -> str:
    return f"keywords-{language}" if language else "keywords"


def reply_id(language: str) -> str:
    return f"reply-{language}" if language else "reply"


def _slots(languages: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(languages) if languages else ("",)


def blank(languages: Sequence[str] | None) -> RuleForm:
    """The form for a new rule."""
    slots = _slots(languages)
    return RuleForm(keywords=dict.fromkeys(slots, ""), reply=dict.fromkeys(slots, ""))


def from_fields(
    fields: Mapping[str, str], requires: Sequence[str], languages: Sequence[str] | None
) -> RuleForm:
    """The form as posted: `fields` by name (absent: empty), the ticked `requires`."""
    slots = _slots(languages)
    return RuleForm(
        name=fields.get("name", ""),
        keywords={slot: fields.get(keywords_id(slot), "") for slot in slots},
        match=fields.get("match", ""),
        action=fields.get("action", ""),
        reference=fields.get("reference", NO_REFERENCE) or NO_REFERENCE,
        reference_format=fields.get("reference-format", ""),
        letters=fields.get("reference-letters", ""),
        digits=fields.get("reference-digits", ""),
        regex=fields.get("reference-regex", ""),
        rating=fields.get("rating", "") == "yes",
        requires=tuple(dict.fromkeys(requires)),
        reply={slot: fields.get(reply_id(slot), "") for slot in slots},
    )


def from_rule(rule: Rule, languages: Sequence[str] | None) -> RuleForm:
    """The form filled in with `rule`, to change it."""
    slots = _slots(languages)
    grouped = rule.keywords.by_language()
    default = slots[0]
    if languages:
        listed = {slot: grouped.get(slot, []) for slot in slots}
        listed[default] = grouped.get(None, []) + listed[default]  # a plain list: the default's
    else:
        listed = {"": list(rule.keywords)}
    keywords = {slot: "\n".join(words) for slot, words in listed.items()}
    if isinstance(rule.reply, dict):
        reply = {slot: rule.reply.get(slot, "") for slot in slots}
    else:
        reply = dict.fromkeys(slots, "")
        reply[default] = rule.reply or ""
    form = RuleForm(
        name=rule.name,
        keywords=keywords,
        match=rule.match.value,
        action=rule.action.value,
        rating=rule.captures.rating,
        requires=tuple(rule.requires),
        reply=reply,
    )
    reference = rule.captures.reference
    return form if reference is None else _with_reference(form, reference)


def _with_reference(form: RuleForm, reference: Reference) -> RuleForm:
    written = reference.written
    if reference.kind == "regex":
        return replace(form, reference=REGEX, regex=str(written))
    if isinstance(written, str):  # postcode, nhs_number, ni_number, letters_then_digits
        return replace(form, reference=FORMAT, reference_format=written)
    counts = {key: _show_count(written[key]) for key in ("letters", "digits") if key in written}
    chosen = "letters_digits" if "letters" in counts else "digits"
    return replace(
        form,
        reference=FORMAT,
        reference_format=chosen,
        letters=counts.get("letters", ""),
        digits=counts.get("digits", ""),
    )


def _show_count(count: object) -> str:
    if isinstance(count, list) and len(count) == 2:
        return f"{count[0]} to {count[1]}"
    return str(count)


def to_rule(form: RuleForm, languages: Sequence[str] | None, region: str) -> Rule:
    """The rule the form describes; `FormErrors` naming each field that is wrong."""
    errors: list[FieldError] = []
    slots = _slots(languages)
    data: dict[str, Any] = {"name": form.name.strip()}
    if not data["name"]:
        errors.append(FieldError("name", "Enter a name for the rule"))
    words = {slot: _lines(form.keywords.get(slot, "")) for slot in slots}
    if not any(words.values()):
        errors.append(FieldError(keywords_id(slots[0]), "Enter at least one keyword"))
    elif languages:
        data["keywords"] = {slot: listed for slot, listed in words.items() if listed}
    else:
        data["keywords"] = words[""]
    if form.match not in MatchKind.__members__:
        errors.append(FieldError("match", "Select how the keywords match"))
    else:
        data["match"] = form.match
    if form.action not in Action.__members__:
        errors.append(FieldError("action", "Select what happens when a reply matches"))
    else:
        data["action"] = form.action
    captures: dict[str, Any] = {"rating": form.rating}
    reference = _reference(form, region, errors)
    if reference is not None:
        captures["reference"] = reference
    data["captures"] = captures
    unknown = [name for name in form.requires if name not in CAPTURE_NAMES]
    if unknown:
        errors.append(FieldError("requires", "Select only captures the form offers"))
    data["requires"] = [name for name in form.requires if name in CAPTURE_NAMES]
    replies = {slot: form.reply.get(slot, "").strip() for slot in slots}
    if languages:
        written = {slot: text for slot, text in replies.items() if text}
        data["reply"] = written or None
    else:
        data["reply"] = replies[""] or None
    if errors:
        raise FormErrors(errors)
    try:
        return Rule.model_validate(data)
    except ValidationError as invalid:
        raise FormErrors(
            [_model_error(detail, form, languages) for detail in invalid.errors()]
        ) from None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _reference(form: RuleForm, region: str, errors: list[FieldError]) -> object:
    """The `captures.reference` the form gives, as a rule file writes it; None for none."""
    if form.reference == REGEX:
        if not form.regex.strip():
            errors.append(FieldError("reference-regex", "Enter the regular expression"))
            return None
        return _checked_reference(form.regex.strip(), "reference-regex", errors)
    if form.reference != FORMAT:
        if form.reference != NO_REFERENCE:
            errors.append(FieldError("reference", "Select how the reference is written"))
        return None
    choice = next((c for c in formats_for(region) if c.value == form.reference_format), None)
    if choice is None:
        errors.append(FieldError("reference-format", "Select the reference's format"))
        return None
    if not choice.counts:
        return _checked_reference(choice.value, "reference-format", errors)
    written: dict[str, object] = {}
    for key in choice.counts:
        typed = form.letters if key == "letters" else form.digits
        count = _count(typed)
        if count is None:
            errors.append(
                FieldError(
                    f"reference-{key}",
                    f"Enter how many {key}: a number, like 6, or a range, like 4 to 8",
                )
            )
        else:
            written[key] = count
    if len(written) != len(choice.counts):
        return None
    return _checked_reference(written, f"reference-{choice.counts[-1]}", errors)


def _count(typed: str) -> int | list[int] | None:
    found = _COUNT.match(typed)
    if found is None:
        return None
    low, high = found.groups()
    return int(low) if high is None else [int(low), int(high)]


def _checked_reference(written: object, field_id: str, errors: list[FieldError]) -> object:
    try:
        reference_formats.parse(written)
    except RuleValueError as wrong:
        where = f"reference-{wrong.loc[0]}" if wrong.loc else field_id
        errors.append(FieldError(where, _sentence(wrong.problem, wrong.fix)))
        return None
    return written


def _sentence(problem: str, fix: str) -> str:
    """A problem and its fix as the error message under a field."""
    problem = problem.strip().rstrip(":.")
    return f"{problem[:1].upper()}{problem[1:]}. {fix[:1].upper()}{fix[1:]}"


def _model_error(detail: Any, form: RuleForm, languages: Sequence[str] | None) -> FieldError:
    cause = detail.get("ctx", {}).get("error")
    loc = tuple(detail["loc"])
    if isinstance(cause, RuleValueError):
        loc = (*loc, *cause.loc)
        message = _sentence(cause.problem, cause.fix)
    else:
        message = _sentence(str(detail["msg"]), "check this field")
    return FieldError(field_of(loc, form, languages), message)


def field_of(
    loc: Sequence[str | int], form: RuleForm, languages: Sequence[str] | None
) -> str | None:
    """The id of the form field a place inside a rule is about (None: the rule as a whole)."""
    if not loc:
        return None
    head, rest = loc[0], tuple(loc[1:])
    slots = _slots(languages)
    if head in ("keywords", "reply"):
        language = rest[0] if rest and isinstance(rest[0], str) and rest[0] in slots else slots[0]
        return keywords_id(language) if head == "keywords" else reply_id(language)
    if head == "captures":
        if rest[:1] == ("rating",):
            return "rating"
        if form.reference == REGEX:
            return "reference-regex"
        if form.reference == FORMAT:
            inner = rest[1:2]
            return (
                f"reference-{inner[0]}"
                if inner in (("letters",), ("digits",))
                else ("reference-format")
            )
        return "reference"
    if head in ("name", "match", "action", "requires"):
        return str(head)
    return None


_RULE_FIELD = re.compile(r"^rules\[(\d+)\](?:\.(.*))?$")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def draft_errors(
    errors: Sequence[Any], index: int, form: RuleForm, languages: Sequence[str] | None
) -> list[FieldError]:
    """The draft's errors (`RuleFileError`s: field, problem, fix) once the form's rule is rule
    `index`: each about that rule on its field; a name used twice on the name field, whichever
    of the two it was reported at; the rest about no field."""
    found: list[FieldError] = []
    name = form.name.strip()
    for error in errors:
        message = _sentence(error.problem, error.fix)
        where = _RULE_FIELD.match(error.field or "")
        field_id: str | None = None
        if where is not None:
            number, inner = int(where.group(1)), where.group(2) or ""
            loc = [int(i) if i else part for part, i in _PART.findall(inner)]
            if number == index:
                field_id = field_of(loc, form, languages)
            elif loc == ["name"] and f"{name!r}" in error.problem:
                field_id = "name"
        found.append(FieldError(field_id, message))
    return found
