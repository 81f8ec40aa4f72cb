"""The rule-file model: a service, its inbound numbers and its keyword rules. Pure: no I/O."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from inbound.phone import InvalidNumber
from inbound.phone import normalise as normalise_number
from inbound.rules import reference_formats
from inbound.rules.canned import PLACEHOLDERS, PlaceholderError, placeholders
from inbound.rules.errors import RuleValueError
from inbound.rules.language import DEFAULT_LANGUAGE, LANGUAGE_CODE, reply_language
from inbound.rules.normalise import normalise, symbols
from inbound.rules.prompt_settings import PromptSettings, WithoutPrompt
from inbound.rules.reference_formats import Reference

_SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REGION = re.compile(r"^[A-Z]{2}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Ranges reserved for drama and examples (Ofcom's 07700 900xxx, North America's 555-01xx):
# libphonenumber calls them invalid, but they are exactly what example and test files use.
_FICTIONAL = re.compile(r"^(?:\+447700900\d{3}|\+1\d{3}55501\d{2})$")
NUMBER_EXAMPLE = "+447700900123"


class Action(StrEnum):
    """What happens when a rule matches; `manual` hands the message to a person."""

    confirm = "confirm"
    cancel = "cancel"
    change = "change"
    report = "report"
    register = "register"
    follow_up = "follow_up"
    feedback = "feedback"
    opt_out = "opt_out"
    opt_in = "opt_in"
    help = "help"
    reply = "reply"
    manual = "manual"


class MatchKind(StrEnum):
    """How a keyword is compared with a normalised message."""

    only = "only"  # the message is the keyword, give or take greetings, thanks and emoji
    first = "first"  # the message opens with the keyword; the rest is captured as `details`
    phrase = "phrase"  # the keyword appears anywhere; the whole message is the `details`
    regex = "regex"  # each keyword is a regular expression searched in the normalised text


# Actions that are about the number, not about any one question: an opt-out must take effect
# whatever a reminder asked (carrier and regulator rules: STOP always works), opting back in
# likewise, and HELP must always be answered. They act as the rules decide and never answer,
# or are refused as answers to, a prompt; so a prompt may not list them in `expects`.
STANDING_ACTIONS = frozenset({Action.opt_out, Action.opt_in, Action.help})
# Actions whose details are free text for a person or service to read (a report, a name, a
# comment): a question or a "not" in the details doesn't change what the sender asked for.
FREE_TEXT_ACTIONS = frozenset(
    {Action.report, Action.register, Action.feedback, Action.follow_up, Action.help}
)
# Actions that answer a question: "HELP?" or "Opening hours?" asks for exactly what they send.
ANSWER_ACTIONS = frozenset({Action.help, Action.reply})
CAPTURE_NAMES = ("details", "reference", "rating")
# The rule name on decisions made by the carrier opt-out table rather than a service rule.
CARRIER_RULE = "carrier opt-out"


# Each model spells its config out (rather than sharing a constant) so the pydantic mypy plugin
# sees `frozen` and flags assignments. `coerce_numbers_to_str`: rule files are YAML that people
# write, so a YAML number (a keyword `1` for a rating, a phone number without its +) is text.


def _check_number(number: str, info: ValidationInfo) -> str:
    region = info.data.get("region")  # absent when the region itself was invalid
    fix = f"write it in international form, e.g. {NUMBER_EXAMPLE}"
    if region is None and not number.strip().startswith(("+", "00")):
        raise RuleValueError(f"{number!r} can't be read without a valid region", fix)
    try:
        normalised = normalise_number(number, region)
    except InvalidNumber:
        raise RuleValueError(f"{number!r} is not a phone number", fix) from None
    if not _is_allocatable(normalised):
        raise RuleValueError(f"{number!r} is not a valid phone number", fix)
    return normalised


def _is_allocatable(number: str) -> bool:
    # Stricter than `inbound.phone.is_e164` (which asks only for a possible length): a service's
    # own number is typed once by hand, and "possible" lets a digit too few through in GB.
    if _FICTIONAL.match(number):
        return True
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164 == number and bool(phonenumbers.is_valid_number(parsed))


def _compile(pattern: str, loc: tuple[str | int, ...]) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise RuleValueError(
            f"{pattern!r} is not a valid regular expression: {error.msg}",
            "check brackets and backslashes; in YAML, put the pattern in single quotes",
            loc,
        ) from None


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# `captures.reference`: read by `reference_formats.parse` (a regex, or a named format), written
# back as it was written, described to editors as the YAML forms it takes.
ReferenceField = Annotated[
    Reference | None,
    PlainValidator(lambda raw: None if raw is None else reference_formats.parse(raw)),
    PlainSerializer(lambda value: None if value is None else reference_formats.dump(value)),
    WithJsonSchema({"anyOf": [reference_formats.json_schema(), {"type": "null"}], "default": None}),
]
PhoneNumber = Annotated[str, AfterValidator(_check_number)]
Keyword = Annotated[str, StringConstraints(min_length=1)]
# A caseworker's words for a decision: one short line.
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\n\r\t]*$"),
]


def _language_code(value: str) -> str:
    if not LANGUAGE_CODE.match(value):
        raise RuleValueError(
            f"{value!r} is not a language code",
            "use the two-letter ISO 639-1 code in lower case, e.g. en for English, cy for Welsh",
        )
    return value


Language = Annotated[str, AfterValidator(_language_code)]
# The forms a rule's keywords are written in: one list (the service's default language) or a
# list per language.
_AS_LIST = TypeAdapter(
    Annotated[list[Keyword], Field(min_length=1)], config=ConfigDict(coerce_numbers_to_str=True)
)
_BY_LANGUAGE = TypeAdapter(
    Annotated[dict[Language, Annotated[list[Keyword], Field(min_length=1)]], Field(min_length=1)],
    config=ConfigDict(coerce_numbers_to_str=True),
)


class Keywords(list[str]):
    """A rule's keywords in file order, every language together, each with its language.

    A list, so code that reads keywords (matching, `rules check`) needs no change; `languages`
    holds, for each keyword, the language it was listed under, or None for a plain list (the
    service's default language). It is written back to YAML in the form it was read.
    """

    languages: tuple[str | None, ...]

    def __init__(self, keywords: list[str], languages: tuple[str | None, ...]) -> None:
        super().__init__(keywords)
        self.languages = languages

    @classmethod
    def read(cls, raw: list[str] | dict[str, list[str]]) -> Keywords:
        """Keywords from their YAML form: a list, or lists by language."""
        if isinstance(raw, dict):
            if not raw:
                raise RuleValueError(
                    "keywords has no languages", "list keywords under a language, e.g. en: [yes]"
                )
            pairs = [(keyword, language) for language, words in raw.items() for keyword in words]
            return cls([keyword for keyword, _ in pairs], tuple(language for _, language in pairs))
        if not raw:
            raise RuleValueError("keywords is empty", "give at least one keyword")
        return cls(list(raw), (None,) * len(raw))

    def by_language(self) -> dict[str | None, list[str]]:
        """The keywords grouped by language (None: the service's default), in file order."""
        grouped: dict[str | None, list[str]] = {}
        for keyword, language in zip(self, self.languages, strict=True):
            grouped.setdefault(language, []).append(keyword)
        return grouped

    def where(self, index: int) -> tuple[str | int, ...]:
        """Where keyword `index` is in the file, under `keywords`: (i,) or (language, i)."""
        language = self.languages[index]
        if language is None:
            return (index,)
        return (language, self.languages[:index].count(language))

    def written(self) -> list[str] | dict[str, list[str]]:
        """The YAML form the keywords were read from."""
        grouped = self.by_language()
        if None in grouped:
            return list(self)
        return {str(language): words for language, words in grouped.items()}

    @classmethod
    def validate(cls, value: object) -> Keywords:
        """Keywords from YAML (a list, or lists by language) or as they are."""
        if isinstance(value, cls):
            return value
        # Each form is validated on its own so an error names the place in the form written.
        if isinstance(value, dict):
            return cls.read(_BY_LANGUAGE.validate_python(value))
        return cls.read(_AS_LIST.validate_python(value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda keywords: keywords.written()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [_AS_LIST.json_schema(), _BY_LANGUAGE.json_schema()]}


class Captures(BaseModel):
    """Values taken from the text after the keyword, besides the text itself (`details`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    reference: ReferenceField = Field(
        default=None,
        description="What a reference number looks like: a regular expression matched in full "
        "against one word of the reply, case-insensitively (e.g. '[a-z]{2}[0-9]{6}'), or a named "
        "format: {digits: 6}, {digits: [4, 8]}, {letters: 2, digits: 6}, letters_then_digits, "
        "postcode, nhs_number or ni_number (docs/rules.md). A word that looks like a reference "
        "but fails "
        "sends the reply to review.",
    )
    rating: bool = Field(
        default=False,
        description="Capture a rating from 1 to 5 ('4', '4/5', '4 stars', 'four'); a number "
        "outside 1-5, or two different ones, sends the reply to review.",
    )


class Rule(BaseModel):
    """One keyword rule: which words, how they match, what they capture and what to do."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    name: Name = Field(description="Unique within the file; shown in reasons and review items.")
    keywords: Keywords = Field(
        description="The keyword and its synonyms: a list (in the service's language), or a "
        "list per language, e.g. {en: [cancel], cy: [canslo]}. Case, accents, punctuation and "
        "emoji are ignored; an emoji on its own (e.g. 👍) is a keyword for `match: only`. For "
        "`match: regex`, each is a regular expression.",
    )
    match: MatchKind = Field(
        default=MatchKind.only,
        description="only: the reply is the keyword (greetings, thanks and emoji allowed "
        "around it); first: the reply opens with it; phrase: it appears anywhere; regex: "
        "the pattern is found in the normalised reply.",
    )
    action: Action = Field(description="What happens; `manual` hands the reply to a person.")
    captures: Captures = Field(
        default_factory=Captures,
        description="Values to capture from the text after the keyword: a reference number "
        "by pattern, a 1-5 rating.",
    )
    requires: list[Literal["details", "reference", "rating"]] = Field(
        default=[],
        description="Captures that must be present for the action to run automatically; "
        "without them a person decides.",
    )
    reply: str | dict[Language, str] | None = Field(
        default=None,
        description="Auto-reply text, or one per language, e.g. {en: Cancelled., cy: Wedi "
        "canslo.}: the reply goes in the language of the keyword matched, else the service's. "
        "{details}, {reference} and {rating} are replaced by what was captured.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        self._check_name()
        self._check_keywords()
        provided = self.provided_captures()
        for name in self.requires:
            if name not in provided:
                raise RuleValueError(*_never_captured(name, self.match), ("requires",))
        if isinstance(self.reply, str):
            _check_template(self.reply, provided, ("reply",))
        elif self.reply is not None:
            if not self.reply:
                raise RuleValueError(
                    "reply has no languages", "write the reply under a language, e.g. en: Thanks"
                )
            for language, template in self.reply.items():
                _check_template(template, provided, ("reply", language))
        return self

    def reply_languages(self) -> frozenset[str] | None:
        """The languages the reply is written in; None for a plain reply (the service's)."""
        if isinstance(self.reply, dict):
            return frozenset(self.reply)
        return None

    def reply_for(self, language: str, default: str) -> tuple[str, str] | None:
        """The auto-reply template for a person writing in `language`, and the language it is
        in (`language`, else the service's `default`); None when the rule has no reply."""
        if self.reply is None:
            return None
        if isinstance(self.reply, str):
            return self.reply, default
        chosen = reply_language(language, list(self.reply), default)
        if chosen is None:
            return None
        return self.reply[chosen], chosen

    def provided_captures(self) -> frozenset[str]:
        """The capture names this rule can fill."""
        names: set[str] = set()
        if self.match in {MatchKind.first, MatchKind.phrase}:
            names.add("details")
        if self.match is MatchKind.regex:
            for keyword in self.keywords:
                names.update(re.compile(keyword).groupindex)
        if self.captures.reference is not None:
            names.add("reference")
        if self.captures.rating:
            names.add("rating")
        return frozenset(names)

    def _check_name(self) -> None:
        if self.name.casefold() == CARRIER_RULE:
            raise RuleValueError(
                f"rule name {self.name!r} is reserved for carrier opt-out words",
                "choose another name",
                ("name",),
            )

    def _check_keywords(self) -> None:
        for index, keyword in enumerate(self.keywords):
            loc = ("keywords", *self.keywords.where(index))
            if self.match is MatchKind.regex:
                pattern = _compile(keyword, loc)
                if pattern.search(""):
                    raise RuleValueError(
                        f"pattern {keyword!r} matches an empty reply",
                        "make the pattern need at least one character",
                        loc,
                    )
                continue
            if normalise(keyword):
                continue
            if not symbols(keyword):
                raise RuleValueError(
                    f"keyword {keyword!r} is empty once punctuation and symbols are removed",
                    "use words, digits or an emoji: punctuation and symbols are ignored",
                    loc,
                )
            if self.match is not MatchKind.only:
                raise RuleValueError(
                    f"emoji keyword {keyword!r} needs `match: only`",
                    "put emoji keywords in a rule with `match: only`",
                    loc,
                )


def _never_captured(name: str, match: MatchKind) -> tuple[str, str]:
    if name == "details":
        return (
            f"requires details, but match is '{match}', which never captures any",
            "set `match: first` so the text after the keyword becomes the details",
        )
    if name == "reference":
        return (
            "requires a reference, but the rule has no reference pattern",
            "add `captures: {reference: <format>}`, e.g. {reference: {digits: 6}} or "
            "{reference: '[a-z]{2}[0-9]{6}'}",
        )
    return (
        "requires a rating, but the rule doesn't capture one",
        "add `captures: {rating: true}`",
    )


def _check_template(template: str, provided: frozenset[str], loc: tuple[str | int, ...]) -> None:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError:
        raise RuleValueError(
            "the reply has an unmatched { or }",
            "write {details}, {reference} or {rating}; double a brace ({{ or }}) to show one",
            loc,
        ) from None
    for field in fields:
        if field not in provided:
            can = ", ".join("{" + name + "}" for name in sorted(provided)) or "no placeholders"
            raise RuleValueError(
                f"the reply uses {{{field}}}, which this rule never captures",
                f"this rule can use {can}",
                loc,
            )


def render_reply(template: str, captures: Mapping[str, str]) -> str:
    """The auto-reply with captured values filled in (missing ones left empty)."""
    values = {name: captures.get(name, "") for name in CAPTURE_NAMES}
    values.update(captures)
    return template.format_map(values)


def _env_name(value: str | None, what: str, example: str) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise RuleValueError(
            f"{value!r} is not an environment variable name",
            f"name the variable that holds {what}, e.g. {example}; never put it here itself",
        )
    return value


class Callback(BaseModel):
    """Where the service is told about automatic outcomes (delivered by the action worker)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="HTTPS endpoint the service receives outcomes on.")
    secret_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the signing secret; the secret "
        "itself never goes in the rule file.",
    )

    format: Literal["inbound", "notify"] = Field(
        default="inbound",
        description="inbound: an event per automatic outcome or decision (docs/callbacks.md). "
        "notify: every reply as GOV.UK Notify's received-text callback, with a bearer token, so "
        "a receiver written for Notify works unchanged (docs/notify.md).",
    )
    token_env: str | None = Field(
        default=None,
        description="format notify: name of the environment variable holding the bearer token "
        "the receiver checks (what was typed into Notify's callback settings).",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise RuleValueError(
                f"{value!r} is not a web address",
                "write the full address, e.g. https://service.example/inbound",
            )
        return value.strip()

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str | None) -> str | None:
        return _env_name(value, "the secret", "APPOINTMENTS_CALLBACK_SECRET")

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        return _env_name(value, "the token", "APPOINTMENTS_CALLBACK_TOKEN")

    @model_validator(mode="after")
    def _token_for_notify(self) -> Callback:
        # A receiver written for Notify refuses a request without its token, so every callback
        # would fail; a token with the inbound format would be sent to nobody.
        if self.format == "notify" and self.token_env is None:
            raise RuleValueError(
                "callback.format is notify but there is no token_env",
                "name the variable holding the bearer token your receiver expects "
                "(token_env: APPOINTMENTS_CALLBACK_TOKEN)",
                ("token_env",),
            )
        if self.format == "inbound" and self.token_env is not None:
            raise RuleValueError(
                "callback.token_env is only sent with format: notify",
                "add format: notify, or sign inbound's events with secret_env instead",
                ("token_env",),
            )
        return self


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Notify(BaseModel):
    """How the service uses GOV.UK Notify: its API key, its reply sender, its callback token.

    Secrets are named by the environment variable that holds them, as for the callback secret.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding this service's Notify API key: "
        "replies are sent with it and received texts Notify kept are fetched with it.",
    )
    sms_sender_id: str | None = Field(
        default=None,
        description="Notify's id of the text message sender replies go from (Settings, Text "
        "message senders): the number people wrote to.",
    )
    template_id: str | None = Field(
        default=None,
        description="The template replies are sent with, in this service's own Notify account "
        "(its whole body is ((body))); INBOUND_NOTIFY_TEMPLATE_ID when not set. A template "
        "belongs to one Notify service, so a service with its own API key needs its own.",
    )
    inbound_token_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the bearer token this service "
        "typed into Notify's callback settings, when it is not one of "
        "INBOUND_NOTIFY_INBOUND_TOKENS.",
    )

    @field_validator("api_key_env")
    @classmethod
    def _api_key_env(cls, value: str | None) -> str | None:
        return _env_name(value, "the API key", "APPOINTMENTS_NOTIFY_API_KEY")

    @field_validator("inbound_token_env")
    @classmethod
    def _inbound_token_env(cls, value: str | None) -> str | None:
        return _env_name(value, "the token", "APPOINTMENTS_NOTIFY_CALLBACK_TOKEN")

    @field_validator("sms_sender_id")
    @classmethod
    def _sender_id(cls, value: str | None) -> str | None:
        if value is not None and not _UUID.match(value.strip().lower()):
            raise RuleValueError(
                f"{value!r} is not a Notify sender id",
                "copy the id (36 characters, like 8e222534-7f05-4972-86e3-17c5d9f894e2) from "
                "Notify's Settings, Text message senders",
            )
        return None if value is None else value.strip().lower()

    @field_validator("template_id")
    @classmethod
    def _template_id(cls, value: str | None) -> str | None:
        if value is not None and not _UUID.match(value.strip().lower()):
            raise RuleValueError(
                f"{value!r} is not a Notify template id",
                "copy the template's id (36 characters) from its page in Notify, under 'Templates'",
            )
        return None if value is None else value.strip().lower()


class Service(BaseModel):
    """The service a rule file belongs to and the numbers its replies arrive on."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    id: str = Field(description="Short, stable identifier: lower-case letters, digits, - and _.")
    name: Name = Field(description="The service's name, as caseworkers see it.")
    region: str = Field(
        description="Two-letter country code in capitals (GB, US); sets how numbers without "
        "+ are read and which carrier opt-out words apply."
    )
    numbers: list[PhoneNumber] = Field(
        min_length=1, description="The numbers replies arrive on, e.g. +447700900123."
    )
    callback: Callback | None = Field(
        default=None, description="Where to send automatic outcomes (optional)."
    )
    retention_days: int = Field(
        default=7, ge=1, description="Days message text is kept before it is purged."
    )
    notify: Notify | None = Field(
        default=None,
        description="How this service uses GOV.UK Notify (optional; docs/notify.md).",
    )
    canned_replies_only: bool = Field(
        default=False,
        description="Caseworkers may text only the canned replies of `replies:`, never their "
        "own words (default false).",
    )
    language: Language = Field(
        default=DEFAULT_LANGUAGE,
        description="The language of plain keyword lists and replies, and of the reply when "
        "the person's language is unknown or a rule has no reply in it: an ISO 639-1 code "
        "(default en; cy for Welsh).",
    )

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _SERVICE_ID.match(value):
            raise RuleValueError(
                f"{value!r} is not a usable service id",
                "use lower-case letters, digits, '-' and '_', starting with a letter or digit",
            )
        return value

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if _REGION.match(value) and value in phonenumbers.SUPPORTED_REGIONS:
            return value
        if value.upper() in phonenumbers.SUPPORTED_REGIONS:
            raise RuleValueError(
                f"region {value!r} must be in capitals", f"write it as '{value.upper()}'"
            )
        raise RuleValueError(
            f"{value!r} is not a region with known phone numbers",
            "use the two-letter country code in capitals, e.g. GB",
        )

    @field_validator("numbers")
    @classmethod
    def _numbers_once(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for index, number in enumerate(value):
            if number in seen:
                raise RuleValueError(
                    f"{number} is listed twice", "remove the repeated number", (index,)
                )
            seen.add(number)
        return value


# The `prompts:` block: read by `PromptSettings.parse` (its errors name the setting and say how to
# fix it), described to editors as the YAML it is written in ("14d", not an ISO duration).
PromptsBlock = Annotated[
    PromptSettings,
    PlainValidator(
        lambda raw: raw if isinstance(raw, PromptSettings) else PromptSettings.parse(raw)
    ),
    PlainSerializer(lambda settings: settings.written()),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "expires_after": {
                    "type": "string",
                    "pattern": r"^\s*\d{1,9}[dhm]\s*$",
                    "description": "How long a prompt sent without expires_at stays open: "
                    '"14d", "12h" or "30m" (default 14d, at most 366d).',
                },
                "without_prompt": {
                    "enum": [policy.value for policy in WithoutPrompt],
                    "description": "A reply from a number with no prompt: decided by the rules "
                    "as before prompts existed (rules, the default) or by a person (review).",
                },
                "allow_change": {
                    "type": "boolean",
                    "description": "May a later, different answer replace an earlier one "
                    "(default false: it goes to review)?",
                },
                "templates": {
                    "type": "object",
                    "description": "GOV.UK Notify template id → the prompt each text of it "
                    "becomes once Notify reports it delivered (docs/notify.md).",
                    "propertyNames": {
                        "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
                    },
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["expects"],
                        "properties": {
                            "expects": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "enum": sorted(
                                        a.value
                                        for a in Action
                                        if a not in STANDING_ACTIONS and a is not Action.manual
                                    )
                                },
                                "description": "The actions that answer texts of this "
                                "template; each must be one the file's rules give.",
                            },
                            "expires_after": {
                                "type": "string",
                                "pattern": r"^\s*\d{1,9}[dhm]\s*$",
                                "description": "How long after Notify sent it a text of this "
                                "template stays open (default: the block's expires_after).",
                            },
                        },
                    },
                },
            },
        }
    ),
]


def _known_placeholders(text: str) -> str:
    try:
        placeholders(text)
    except PlaceholderError as error:
        raise RuleValueError(
            str(error),
            "use only " + ", ".join(f"{{{name}}} ({what})" for name, what in PLACEHOLDERS.items()),
        ) from None
    return text


class CannedReply(BaseModel):
    """A reply caseworkers pick by name instead of writing one."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    name: Label = Field(description="What caseworkers pick it by: one line, 1 to 80 characters.")
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1),
        AfterValidator(_known_placeholders),
    ] = Field(
        description="The text sent; may use the placeholders {service}, {reference} and "
        "{received}; write {{ and }} for a brace."
    )


class ServiceRules(BaseModel):
    """A whole rule file: one service and its rules, in the order they are written."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    service: Service = Field(description="Who the service is and the numbers it owns.")
    rules: list[Rule] = Field(
        min_length=1,
        description="Keyword rules in order: when several match and agree, the first wins.",
    )
    prompts: PromptsBlock = Field(
        default_factory=PromptSettings,
        description="How this service's prompts (the messages it sent that expect an answer) "
        "behave; every setting has a default.",
    )
    labels: dict[Action, Label] = Field(
        default={},
        description="What caseworkers see for a decision, by action, e.g. "
        "{confirm: 'Confirm the vaccination'}; actions left out keep their default words.",
    )
    replies: list[CannedReply] = Field(
        default=[],
        description="Canned replies caseworkers pick from on the item page, in this order.",
    )

    @field_validator("rules")
    @classmethod
    def _names_once(cls, value: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for index, rule in enumerate(value):
            if rule.name in seen:
                raise RuleValueError(
                    f"rule name {rule.name!r} is used twice",
                    "give each rule its own name: reasons and review items refer to it",
                    (index, "name"),
                )
            seen.add(rule.name)
        return value

    @field_validator("replies")
    @classmethod
    def _reply_names_once(cls, value: list[CannedReply]) -> list[CannedReply]:
        seen: set[str] = set()
        for index, reply in enumerate(value):
            if reply.name in seen:
                raise RuleValueError(
                    f"replies: the name {reply.name!r} is used twice",
                    "give each canned reply its own name: caseworkers pick it by name",
                    (index, "name"),
                )
            seen.add(reply.name)
        return value

    @model_validator(mode="after")
    def _canned_only_has_replies(self) -> ServiceRules:
        if self.service.canned_replies_only and not self.replies:
            raise RuleValueError(
                "service.canned_replies_only is true but the file has no replies:",
                "add a `replies:` list of {name, text}, or remove canned_replies_only",
                ("service", "canned_replies_only"),
            )
        return self

    def languages(self) -> frozenset[str]:
        """Every language the rules' keywords and replies are written in (plain lists and
        replies count as the service's)."""
        default = self.service.language
        found = {default}
        for rule in self.rules:
            found.update(language or default for language in rule.keywords.languages)
            found.update(rule.reply_languages() or ())
        return frozenset(found)

    def canned_reply(self, name: str) -> CannedReply | None:
        """The canned reply called `name`, if the file has one."""
        return next((reply for reply in self.replies if reply.name == name), None)

    @model_validator(mode="after")
    def _templates_expect_answers(self) -> ServiceRules:
        given = {rule.action for rule in self.rules}
        for template_id, template in self.prompts.templates.items():
            where = ("prompts", "templates", template_id, "expects")
            for name in sorted(template.expects):
                try:
                    action = Action(name)
                except ValueError:
                    raise RuleValueError(
                        f"{name!r} is not an action",
                        "use actions this file's rules give, e.g. "
                        + ", ".join(sorted(a.value for a in given - _NOT_ANSWERS) or ["confirm"]),
                        where,
                    ) from None
                if action in _NOT_ANSWERS:
                    why = (
                        "a person decides those"
                        if action is Action.manual
                        else "it always takes effect whatever a reminder asks"
                    )
                    raise RuleValueError(
                        f"{name} is not an answer: {why}",
                        f"leave {name} out of expects",
                        where,
                    )
                if action not in given:
                    raise RuleValueError(
                        f"no rule in this file gives {name}, so no reply could ever answer it",
                        f"add a rule with action: {name}, or leave {name} out of expects",
                        where,
                    )
        return self

    @model_validator(mode="after")
    def _replies_in_default_language(self) -> ServiceRules:
        # The default language's reply is the one sent when the person's language has none.
        default = self.service.language
        for index, rule in enumerate(self.rules):
            languages = rule.reply_languages()
            if languages is not None and default not in languages:
                raise RuleValueError(
                    f"rule '{rule.name}' has no reply in the service's language ({default})",
                    f"add reply.{default}: it is sent when the person's language has no reply; "
                    "or set service.language",
                    ("rules", index, "reply"),
                )
        return self

    @model_validator(mode="after")
    def _references_for_region(self) -> ServiceRules:
        region = self.service.region
        for index, rule in enumerate(self.rules):
            reference = rule.captures.reference
            if reference is not None and reference.region not in {None, region}:
                raise RuleValueError(
                    f"the reference format {reference.kind} is for region "
                    f"{reference.region}, but this file's region is {region}",
                    "use {digits: ...}, {letters: ..., digits: ...} or a regular expression",
                    ("rules", index, "captures", "reference"),
                )
        return self

    @model_validator(mode="after")
    def _labels_for_decisions(self) -> ServiceRules:
        for action in self.labels:
            if action in _UNDECIDABLE:
                raise RuleValueError(
                    f"labels: {action} is not a decision a caseworker makes",
                    "label only actions like confirm, cancel, report or opt_out",
                    ("labels", action.value),
                )
        return self


# Actions a caseworker never chooses on the decide form, so a label for one would never show.
_UNDECIDABLE = frozenset({Action.help, Action.reply, Action.manual})
# Actions a prompt may not expect: the standing ones, and manual (a person decides those).
_NOT_ANSWERS = STANDING_ACTIONS | {Action.manual}


class RuleBook:
    """Every service's rules, found by service id or inbound number. Immutable once built."""

    __slots__ = ("_by_number", "_by_template", "_services")

    def __init__(self, service_rules: Iterable[ServiceRules] = ()) -> None:
        """Index the services; the same service id, number or Notify template twice is a
        `ValueError`."""
        services: dict[str, ServiceRules] = {}
        by_number: dict[str, str] = {}
        by_template: dict[str, str] = {}
        for rules in service_rules:
            service_id = rules.service.id
            if service_id in services:
                raise ValueError(f"service id {service_id!r} is defined twice")
            services[service_id] = rules
            for number in rules.service.numbers:
                owner = by_number.setdefault(number, service_id)
                if owner != service_id:
                    raise ValueError(
                        f"number {number} belongs to both {owner!r} and {service_id!r}"
                    )
            # A delivery receipt names only its template: two owners would make its prompt
            # a guess.
            for template_id in rules.prompts.templates:
                owner = by_template.setdefault(template_id, service_id)
                if owner != service_id:
                    raise ValueError(
                        f"Notify template {template_id} belongs to both {owner!r} and "
                        f"{service_id!r}"
                    )
        self._services: Mapping[str, ServiceRules] = MappingProxyType(services)
        self._by_number: Mapping[str, str] = MappingProxyType(by_number)
        self._by_template: Mapping[str, str] = MappingProxyType(by_template)

    @property
    def services(self) -> Mapping[str, ServiceRules]:
        """Each service's rules by service id (read-only)."""
        return self._services

    def service_for_number(self, e164: str) -> ServiceRules | None:
        """The service that owns an inbound number in E.164 form, or None."""
        service_id = self._by_number.get(e164)
        return None if service_id is None else self._services[service_id]

    def service_for_template(self, template_id: str) -> ServiceRules | None:
        """The service whose `prompts.templates` maps this Notify template id, or None."""
        service_id = self._by_template.get(template_id.strip().lower())
        return None if service_id is None else self._services[service_id]

    def numbers(self) -> dict[str, str]:
        """Every inbound number mapped to its service id."""
        return dict(self._by_number)

    def __repr__(self) -> str:
        return f"RuleBook(services={sorted(self._services)!r})"
