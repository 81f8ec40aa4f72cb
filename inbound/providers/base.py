"""What every provider module offers, and the request/answer values they work on. Pure."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

from inbound.message import InboundMessage, Part

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as received: everything a provider needs to verify and parse it."""

    method: str
    url: str  # as the provider called it (public URL, with query string)
    # Looked up by lower-case name: a dict with lower-cased names, or a mapping whose lookups
    # ignore case (the receiver passes aiohttp's headers as they are).
    headers: Mapping[str, str]
    body: bytes
    query: Sequence[tuple[str, str]] = ()

    def header(self, name: str) -> str | None:
        """A header's value, by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def media_type(self) -> str:
        """The content type without parameters, lower-cased (worked out once per request)."""
        found: str | None = self.__dict__.get("_media_type")
        if found is None:
            raw = self.headers.get("content-type") or ""
            found = self.__dict__["_media_type"] = raw.split(";", 1)[0].strip().lower()
        return found

    @property
    def form(self) -> Sequence[tuple[str, str]]:
        """The body's form fields (see `form_fields`), decoded once per request.

        A provider that verifies a signature over the fields and then parses them needs them
        twice; decoding was a measurable share of a webhook's time. A tuple, so no caller can
        change what the next one sees.
        """
        # Memoised by hand in the instance's __dict__ (which a frozen dataclass leaves
        # writable): Python 3.11's cached_property takes a lock on every read.
        cached: tuple[tuple[str, str], ...] | None = self.__dict__.get("_form")
        if cached is None:
            cached = self.__dict__["_form"] = tuple(form_fields(self.body))
        return cached

    @property
    def form_map(self) -> Mapping[str, str]:
        """`form` as a dict (the last of a repeated field wins), built once per request."""
        found: dict[str, str] | None = self.__dict__.get("_form_map")
        if found is None:
            found = self.__dict__["_form_map"] = dict(self.form)
        return found


@dataclass(frozen=True)
class ParsedMessage:
    """A message as the provider described it, before numbers are normalised.

    `part` is set when the provider delivers a long SMS in parts: each part is its own message
    (own id, accepted durably on its own) and the worker joins them before rules run.
    """

    provider_message_id: str
    sender: str
    recipient: str
    text: str
    received_at: datetime | None = None
    part: Part | None = None


@dataclass(frozen=True)
class WebhookReply:
    """The HTTP answer a provider expects once its messages are safely accepted."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class WebhookError(Exception):
    """A request we refuse; maps to one HTTP status and a JSON error body."""

    status = 400
    code = "bad_request"
    # Extra response headers, e.g. the WWW-Authenticate challenge a 401 must carry.
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, object]:
        """The JSON error body naming the problem."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class SignatureMissing(WebhookError):
    """No signature (or credentials) where the provider always sends one."""

    status = 401
    code = "signature_missing"


class SignatureInvalid(WebhookError):
    """A signature that does not match: not from the provider, or tampered with."""

    status = 403
    code = "signature_invalid"


class UnsupportedMediaType(WebhookError):
    """A body in a content type this provider never sends."""

    status = 415
    code = "unsupported_media_type"


class PayloadInvalid(WebhookError):
    """A body that is well-formed but lacks or mangles a field."""

    status = 422
    code = "payload_invalid"


class MalformedBody(WebhookError):
    """A body that can't be decoded at all (bad JSON, bad encoding)."""

    status = 400
    code = "malformed_body"


class Provider(Protocol):
    """The small interface every provider module implements."""

    name: str
    methods: frozenset[str]  # HTTP methods the provider uses: POST, and GET for some

    async def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureMissing/SignatureInvalid unless the provider really sent it.

        Async only for the providers that must fetch something to verify (SNS's certificate);
        the others do no I/O.
        """

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The messages the request carries, or a WebhookError naming what is wrong."""

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """The answer the provider expects once the messages are durable."""


class ServiceSecrets(Protocol):
    """The secrets services' rule files name for a provider (e.g. the bearer token a service
    typed into GOV.UK Notify), read where they are kept when asked."""

    def for_number(self, provider: str, number: str) -> Sequence[str]:
        """The secrets of the service owning `number` (E.164): two during a rotation, none when
        no service owns it or its rule file names none."""

    def named(self, provider: str) -> bool:
        """True when some service's rule file names a secret for `provider`."""


class NoServiceSecrets:
    """No rule files to ask: every provider relies on its settings alone."""

    def for_number(self, provider: str, number: str) -> Sequence[str]:
        """None."""
        return ()

    def named(self, provider: str) -> bool:
        """Never."""
        return False


@dataclass(frozen=True)
class ProviderSpec:
    """How the registry finds a provider: its URL name, what enables it, and how to build it."""

    name: str
    enabled_by: str  # the setting(s) to set, for "not enabled" errors and start-up warnings
    build: Callable[[Settings], Provider | None]  # None when its settings are unset
    # For a provider a service may hold its own secret for (GOV.UK Notify's callback token):
    # built with the rule files' secrets where the receiver has them, else by `build`.
    build_with_services: Callable[[Settings, ServiceSecrets], Provider | None] | None = None
    # Only a provider whose own scheme can't always be verified may be run unverified
    # (INBOUND_UNVERIFIED_PROVIDERS); for the rest that setting is a mistake and refused.
    may_be_unverified: bool = False


def secret_values(secret: SecretStr | None) -> list[str]:
    """A secret setting's values: two comma-separated ones are accepted during a rotation."""
    if secret is None:
        return []
    return [part.strip() for part in secret.get_secret_value().split(",") if part.strip()]


def require_media_type(request: WebhookRequest, *allowed: str) -> None:
    """Refuse a request whose content type isn't one the provider sends."""
    if request.media_type not in allowed:
        raise UnsupportedMediaType(
            f"expected Content-Type {' or '.join(allowed)}, got {request.media_type or 'none'}"
        )


def decode_text(body: bytes) -> str:
    """The body as UTF-8, or a MalformedBody error."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody(f"body is not valid UTF-8 (byte {error.start})") from None


def form_fields(body: bytes) -> list[tuple[str, str]]:
    """Decode an `application/x-www-form-urlencoded` body, keeping repeats and blanks.

    The same result as `urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict")`,
    in about half the time (it was a hot spot of every form webhook): no argument coercion, and
    percent-decoding only where there is a `%`. Decoding a name or value's bytes as a whole
    rather than run by run (as `unquote` does) accepts and rejects the same input: the text is
    valid UTF-8, so its literal non-ASCII characters are whole and start with a lead byte, which
    no escaped byte before them can continue.
    """
    text = decode_text(body)
    fields: list[tuple[str, str]] = []
    unquote = urllib.parse.unquote_to_bytes
    try:
        for pair in text.split("&"):
            if not pair:
                continue
            name, _, value = pair.partition("=")  # no "=": a blank value, as parse_qsl keeps
            if "+" in name:
                name = name.replace("+", " ")
            if "%" in name:
                name = unquote(name).decode("utf-8")
            if "+" in value:
                value = value.replace("+", " ")
            if "%" in value:
                value = unquote(value).decode("utf-8")
            fields.append((name, value))
    except UnicodeDecodeError:
        raise MalformedBody("form value is not valid UTF-8 after percent-decoding") from None
    return fields


def json_object(body: bytes) -> dict[str, object]:
    """Decode a JSON object body, or say why it isn't one."""
    try:
        value = json.loads(decode_text(body))
    except json.JSONDecodeError as error:
        raise MalformedBody(f"body is not valid JSON: {error.msg} at {error.pos}") from None
    except RecursionError:
        raise MalformedBody("body is JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedBody("body must be a JSON object")
    return value


def required(fields: Mapping[str, str], name: str) -> str:
    """A form field that must be present and non-blank."""
    value = fields.get(name)
    if value is None or not value.strip():
        raise PayloadInvalid(f"missing required field {name!r}", field=name)
    return value
