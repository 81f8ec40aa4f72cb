"""The "accept a webhook" use case: verify, parse, normalise, publish durably."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from inbound import phone
from inbound.message import InboundMessage
from inbound.providers.base import (
    MalformedBody,
    ParsedMessage,
    PayloadInvalid,
    Provider,
    SignatureInvalid,
    WebhookReply,
    WebhookRequest,
)

# Region for a recipient number: the owning service's region, or None when no service owns it.
RegionLookup = Callable[[str], str | None]


class Durable(Protocol):
    """Where an accepted message is made durable: RabbitMQ (confirmed) or the database spool."""

    async def publish(self, message: InboundMessage) -> None:
        """Return once the message is durable; raise PublishFailed otherwise."""


class Nonces(Protocol):
    """The signed nonces already accepted, per provider: each is good once."""

    async def claim(self, provider: str, nonce: str) -> bool:
        """True the first time a nonce is claimed (or when it can't be checked: the
        implementation's choice); False when it was claimed before."""

    async def release(self, provider: str, nonce: str) -> None:
        """Forget a claim whose message wasn't made durable, so the provider's retry passes."""


class SingleUseSigned(Protocol):
    """A provider whose signature, in some requests, covers a nonce but not the message."""

    def single_use_nonce(self, request: WebhookRequest) -> str | None:
        """The nonce to accept only once for this (verified) request; None when the signature
        covers the message itself."""


# SingleUseSigned.single_use_nonce, as looked up on a provider.
SingleUseCheck = Callable[[WebhookRequest], str | None]


class Replayed(SignatureInvalid):
    """A signature whose nonce was already used: a captured request sent again."""

    code = "signature_replayed"


# The names a provider-facing error uses for InboundMessage's fields.
_WIRE_NAMES = {"sender": "from", "recipient": "to", "provider_message_id": "id"}


def _number(raw: str, region: str | None, field: str) -> str:
    try:
        return phone.normalise(raw, region)
    except phone.InvalidNumber:
        # A genuine provider may send a sender we can't parse; keeping it beats losing the message.
        compact = raw.strip()
        if not compact:
            raise PayloadInvalid(f"{field} is empty", field=field) from None
        return compact


def _storable(value: str, field: str) -> None:
    # PostgreSQL text can't hold NUL, and a lone surrogate (from a JSON "\\ud800" escape) can't be
    # encoded at all: refuse both at the door rather than fail in the worker for ever.
    if "\x00" in value:
        raise MalformedBody(f"{field} contains a NUL character", field=field)
    if value.isascii():  # the usual value, checked at C speed: no surrogate in it
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody(f"{field} is not valid Unicode (lone surrogate)", field=field) from None


def to_message(
    provider: str, parsed: ParsedMessage, region_for: RegionLookup, default_region: str
) -> InboundMessage:
    """Turn a provider's description of a message into the canonical form, numbers in E.164."""
    for field, value in (
        ("id", parsed.provider_message_id),
        ("from", parsed.sender),
        ("to", parsed.recipient),
        ("text", parsed.text),
    ):
        _storable(value, field)
    recipient = _number(parsed.recipient, default_region, "to")
    region = region_for(recipient) or default_region
    try:
        return InboundMessage(
            provider=provider,
            provider_message_id=parsed.provider_message_id,
            sender=_number(parsed.sender, region, "from"),
            recipient=recipient,
            text=parsed.text,
            received_at=parsed.received_at or datetime.now(UTC),
            part=parsed.part,
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        field = _WIRE_NAMES.get(field, field)
        raise PayloadInvalid(f"{field}: {first['msg']}", field=field) from None


async def accept_webhook(
    provider: Provider,
    request: WebhookRequest,
    publisher: Durable,
    region_for: RegionLookup,
    default_region: str,
    nonces: Nonces,
) -> tuple[WebhookReply, list[InboundMessage]]:
    """Verify and parse the request and publish every message it carries, confirmed.

    Raises WebhookError for a request we refuse (Replayed for a single-use nonce seen before),
    PublishFailed when neither RabbitMQ confirmed nor the spool took a message.
    """
    await provider.verify(request)
    messages = [
        to_message(provider.name, parsed, region_for, default_region)
        for parsed in provider.parse(request)
    ]
    # Looked up by name: an isinstance check against a runtime Protocol costs every webhook
    # some 10 µs; getattr, 40 ns.
    single_use: SingleUseCheck | None = getattr(provider, "single_use_nonce", None)
    nonce = single_use(request) if single_use is not None else None
    # Claimed after parsing, so a malformed request doesn't use up a genuine nonce, and
    # before publishing, so of two requests with one nonce only one is published.
    if nonce is not None and not await nonces.claim(provider.name, nonce):
        raise Replayed("this signature's nonce was already used", field="nonce")
    try:
        for message in messages:
            await publisher.publish(message)
    except Exception:
        if nonce is not None:
            await nonces.release(provider.name, nonce)
        raise
    return provider.accepted(messages), messages
