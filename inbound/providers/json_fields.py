"""Typed reads from a decoded JSON webhook body, with errors naming the field. Pure.

json.loads accepts things a message can't carry (numbers where text belongs, lone surrogates
from `\\ud800` escapes): every read here checks the type (a 422 naming the field) and that text
is storable Unicode (a 400 naming it), instead of failing somewhere downstream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from inbound.providers.base import MalformedBody, PayloadInvalid, decode_text, json_object


def json_obj(body: bytes) -> dict[str, object]:
    """Decode a JSON object body; unlike base.json_object, deep nesting is a MalformedBody too."""
    try:
        return json_object(body)
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None


def json_array(body: bytes) -> list[object]:
    """Decode a JSON array body, or say why it isn't one."""
    try:
        value = json.loads(decode_text(body))
    except json.JSONDecodeError as error:
        raise MalformedBody(f"body is not valid JSON: {error.msg} at {error.pos}") from None
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None
    if not isinstance(value, list):
        raise MalformedBody("body must be a JSON array")
    return value


def obj(value: object, field: str) -> Mapping[str, object]:
    """`value` as a JSON object, or a PayloadInvalid naming `field`."""
    if not isinstance(value, dict):
        raise PayloadInvalid(f"{field} must be a JSON object", field=field)
    return value


def unicode_text(value: str, field: str) -> str:
    """`value` unchanged, unless it holds lone surrogates (from `\\ud800` escapes) or NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody(f"{field} is not valid Unicode (lone surrogate)", field=field) from None
    # PostgreSQL text can't hold NUL: letting one through would poison the worker, not refuse.
    # 400 like accept.py's own guard, which catches any provider that doesn't check.
    if "\x00" in value:
        raise MalformedBody(f"{field} contains a NUL character", field=field)
    return value


def text(fields: Mapping[str, object], name: str, where: str = "") -> str:
    """A string field that must be present and non-blank."""
    field = where + name
    value = fields.get(name)
    if value is None:
        raise PayloadInvalid(f"missing required field {field!r}", field=field)
    if not isinstance(value, str):
        raise PayloadInvalid(f"{field} must be a string", field=field)
    if not value.strip():
        raise PayloadInvalid(f"{field} is empty", field=field)
    return unicode_text(value, field)


def body_text(fields: Mapping[str, object], name: str, where: str = "") -> str:
    """A message text field: must be present and a string, but may be empty."""
    field = where + name
    value = fields.get(name)
    if value is None:
        raise PayloadInvalid(f"missing required field {field!r}", field=field)
    if not isinstance(value, str):
        raise PayloadInvalid(f"{field} must be a string", field=field)
    return unicode_text(value, field)


def optional_text(fields: Mapping[str, object], name: str, where: str = "") -> str | None:
    """A string field that may be absent or null."""
    if fields.get(name) is None:
        return None
    return body_text(fields, name, where)


def parse_time(value: str, field: str, naive_zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 time in UTC; one without an offset is read in `naive_zone`, or refused."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PayloadInvalid(f"{field} is not an ISO 8601 time", field=field) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if naive_zone is None:
            raise PayloadInvalid(f"{field} has no time zone offset", field=field)
        parsed = parsed.replace(tzinfo=naive_zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PayloadInvalid(f"{field} is out of range", field=field) from None


def optional_time(fields: Mapping[str, object], name: str, where: str = "") -> datetime | None:
    """An optional ISO 8601 time field with an offset, in UTC."""
    value = optional_text(fields, name, where)
    if value is None or not value.strip():
        return None
    return parse_time(value, where + name)
