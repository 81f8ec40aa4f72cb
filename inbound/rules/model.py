"""The rule-file model: a service, its inbound numbers and its keyword rules. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from inbound.phone import InvalidNumber
from inbound.phone import normalise as normalise_number
from inbound.rules.normalise import normalise

_SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REGION = re.compile(r"^[A-Z]{2}$")
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

    only = "only"  # the whole message is the keyword
    first = "first"  # the message opens with the keyword; the rest is captured as `details`


class RuleValueError(ValueError):
    """A rule-file value is wrong; carries a plain-English fix and, optionally, where inside it."""

    def __init__(self, problem: str, fix: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.loc = loc


# Each model spells its config out (rather than sharing a constant) so the pydantic mypy plugin
# sees `frozen` and flags assignments. `coerce_numbers_to_str`: rule files are YAML that people
# write, so a YAML number (a keyword `1` for a rating, a phone number without its +) is text.


def _check_keyword(keyword: str) -> str:
    if not normalise(keyword):
        raise RuleValueError(
            f"keyword {keyword!r} is empty once punctuation, symbols and emoji are removed",
            "use words or digits: punctuation, symbols and emoji are ignored when matching",
        )
    return keyword


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


Keyword = Annotated[str, AfterValidator(_check_keyword)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
PhoneNumber = Annotated[str, AfterValidator(_check_number)]


class Rule(BaseModel):
    """One keyword rule: which words, how they match, and what to do."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    name: Name
    keywords: list[Keyword] = Field(min_length=1)
    match: MatchKind = MatchKind.only
    action: Action
    requires: list[Literal["details"]] = []
    reply: str | None = None

    @model_validator(mode="after")
    def _details_need_first(self) -> Rule:
        if "details" in self.requires and self.match is not MatchKind.first:
            raise RuleValueError(
                f"requires details, but match is '{self.match}', which never captures any",
                "set `match: first` so the text after the keyword becomes the details",
                ("requires",),
            )
        return self


class Service(BaseModel):
    """The service a rule file belongs to and the numbers its replies arrive on."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    id: str
    name: Name
    region: str
    numbers: list[PhoneNumber] = Field(min_length=1)
    retention_days: int = Field(default=7, ge=1)

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


class ServiceRules(BaseModel):
    """A whole rule file: one service and its rules, in the order they are written."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    service: Service
    rules: list[Rule] = Field(min_length=1)

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


class RuleBook:
    """Every service's rules, found by service id or inbound number. Immutable once built."""

    __slots__ = ("_by_number", "_services")

    def __init__(self, service_rules: Iterable[ServiceRules] = ()) -> None:
        """Index the services; the same service id or number twice is a `ValueError`."""
        services: dict[str, ServiceRules] = {}
        by_number: dict[str, str] = {}
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
        self._services: Mapping[str, ServiceRules] = MappingProxyType(services)
        self._by_number: Mapping[str, str] = MappingProxyType(by_number)

    @property
    def services(self) -> Mapping[str, ServiceRules]:
        """Each service's rules by service id (read-only)."""
        return self._services

    def service_for_number(self, e164: str) -> ServiceRules | None:
        """The service that owns an inbound number in E.164 form, or None."""
        service_id = self._by_number.get(e164)
        return None if service_id is None else self._services[service_id]

    def numbers(self) -> dict[str, str]:
        """Every inbound number mapped to its service id."""
        return dict(self._by_number)

    def __repr__(self) -> str:
        return f"RuleBook(services={sorted(self._services)!r})"
