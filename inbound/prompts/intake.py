"""Prompts as a service sends them (a JSON object, a CSV row) read into `Prompt` values.

Pure: values in, a Prompt or an `InvalidPrompt` naming the field out. The API and the CSV
import both read prompts here, so both accept and refuse the same things.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from inbound import phone
from inbound.prompts.model import STANDING_ACTIONS, InvalidPrompt, Prompt
from inbound.rules.model import Action
from inbound.rules.prompt_settings import PromptSettings

MAX_BATCH = 10_000  # prompts in one request or one import: a day's reminders
MAX_REFERENCE = 200  # the column's width
MAX_NAME = 40  # an action's name, as written, kept by _named
MAX_TEXT = 2_000  # a long SMS is at most ~1,600 characters; more is not a text message
# The actions a prompt may expect (Prompt refuses the others, saying why).
ANSWERS = frozenset(Action) - STANDING_ACTIONS - {Action.manual}
YEARS = (2000, 2999)  # the years a prompt's times may be in
# Written as E.164 (checked with phonenumbers before it is taken as it is).
_E164_FORM = re.compile(r"\+[1-9][0-9]{6,14}")
FIELDS = ("to", "reference", "expects", "expires_at", "text", "sent_at", "service")


class OtherService(InvalidPrompt):
    """The prompt names a service other than the one the token acts for."""


class InvalidBatch(ValueError):
    """One prompt of a batch is wrong: which one (from 0), which field, and why."""

    def __init__(self, index: int, wrong: InvalidPrompt) -> None:
        super().__init__(f"prompt {index}: {wrong}")
        self.index = index
        self.wrong = wrong


@dataclass(frozen=True)
class Sender:
    """Who is sending prompts, and what their bare values mean: the service, its region (for
    numbers written without a country code), its prompt settings, and now."""

    service: str
    region: str | None
    settings: PromptSettings
    now: datetime


def _text(raw: Mapping[str, object], name: str, *, required: bool) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise InvalidPrompt(name, "is missing")
        return None
    if not isinstance(value, str):
        raise InvalidPrompt(name, f"is a {type(value).__name__}, not a string")
    return value


def _time(raw: Mapping[str, object], name: str) -> datetime | None:
    value = _text(raw, name, required=False)
    if value is None or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidPrompt(
            name, f"{value[:40]!r} is not a time: write ISO 8601, e.g. 2026-12-03T09:00:00Z"
        ) from None
    # Far-off years are typos, and near the ends of the calendar a time zone or the default
    # expiry would overflow (a 500 instead of this 422).
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise InvalidPrompt(name, f"{value[:40]!r} is not between {YEARS[0]} and {YEARS[1]}")
    return when


def _number(value: str, region: str | None) -> str:
    given = value.strip()
    # Already E.164 (what a service's system usually sends): is_e164 says so, mostly without
    # parsing, where normalise and is_e164 each parsed it: most of an import's time.
    if _E164_FORM.fullmatch(given) and phone.is_e164(given):
        return given
    try:
        number = phone.normalise(value, region)
    except phone.InvalidNumber:
        number = ""
    if not phone.is_e164(number):
        where = f" or a number in region {region}" if region else ""
        raise InvalidPrompt(
            "to", f"{phone.mask(value.strip())} is not a phone number: write +44…{where}"
        )
    return number


def _expects(value: object) -> frozenset[Action]:
    names: Sequence[object]
    if isinstance(value, str):  # a CSV cell: "confirm,cancel" or "confirm cancel"
        names = value.replace(",", " ").split()
    elif isinstance(value, list):
        names = value
    else:
        raise InvalidPrompt("expects", "is missing: list the actions that answer, e.g. [confirm]")
    if len(names) <= len(Action) and all(
        isinstance(name, str) and len(name) <= MAX_NAME for name in names
    ):
        return _named(tuple(names))
    return _actions(names)


@functools.lru_cache(maxsize=256)
def _named(names: tuple[str, ...]) -> frozenset[Action]:
    """The actions of these names, kept: a batch names the same few sets again and again (only
    short lists of short names, so a request can't fill memory with what is kept)."""
    return _actions(names)


def _actions(names: Sequence[object]) -> frozenset[Action]:
    actions = set()
    for name in names:
        if not isinstance(name, str):
            raise InvalidPrompt("expects", f"{name!r} is not an action name")
        try:
            actions.add(Action(name.strip().lower()))
        except ValueError:
            known = ", ".join(a.value for a in Action if a in ANSWERS)
            raise InvalidPrompt("expects", f"{name[:40]!r} is not an action: use {known}") from None
    return frozenset(actions)


def read_prompt(raw: object, sender: Sender) -> Prompt:
    """One prompt from a JSON object or a CSV row; InvalidPrompt names the field at fault.

    `sent_at` defaults to now, `expires_at` to `sent_at` plus the service's `expires_after`;
    an empty `text` is "text not stored".
    """
    if not isinstance(raw, Mapping):
        raise InvalidPrompt("prompt", f"is a {type(raw).__name__}: send a JSON object")
    unknown = sorted(str(key) for key in raw if key not in FIELDS)
    if unknown:
        raise InvalidPrompt(unknown[0], f"is not a prompt field: use {', '.join(FIELDS[:-1])}")
    service = _text(raw, "service", required=False)
    if service is not None and service != sender.service:
        raise OtherService("service", f"this token sends prompts for {sender.service} only")
    to = _number(_text(raw, "to", required=True) or "", sender.region)
    reference = (_text(raw, "reference", required=True) or "").strip()
    if len(reference) > MAX_REFERENCE:
        raise InvalidPrompt("reference", f"is longer than {MAX_REFERENCE} characters")
    if not reference.isprintable():
        raise InvalidPrompt("reference", "has a control character")
    text = _text(raw, "text", required=False) or None
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidPrompt("text", f"is longer than {MAX_TEXT} characters")
    sent_at = _time(raw, "sent_at") or sender.now
    expires_at = _time(raw, "expires_at")
    if expires_at is None and sent_at.utcoffset() is not None:
        expires_at = sent_at + sender.settings.expires_after
    return Prompt(
        service=sender.service,
        recipient=to,
        reference=reference,
        expects=_expects(raw.get("expects")),
        sent_at=sent_at,
        expires_at=expires_at or sent_at,
        text=text,
    )


def read_batch(items: Sequence[object], sender: Sender) -> list[Prompt]:
    """Every prompt of a batch, or InvalidBatch for the first one that is wrong."""
    if not items:
        raise InvalidBatch(0, InvalidPrompt("prompt", "none sent: send at least one"))
    if len(items) > MAX_BATCH:
        raise InvalidBatch(
            MAX_BATCH,
            InvalidPrompt("prompt", f"{len(items):,} sent: at most {MAX_BATCH:,} at once"),
        )
    prompts = []
    for index, raw in enumerate(items):
        try:
            prompts.append(read_prompt(raw, sender))
        except InvalidPrompt as wrong:
            raise InvalidBatch(index, wrong) from None
    return prompts
