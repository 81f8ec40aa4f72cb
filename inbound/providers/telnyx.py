"""Telnyx Messaging v2 webhooks: `message.received` events, signed with Ed25519.

Telnyx signs `telnyx-timestamp|raw body` with the account's key pair and publishes the public key
(Mission Control, Keys & Credentials). It sends every messaging event to the profile's webhook
URL; only inbound `message.received` events carry a message, the rest (`message.sent`,
`message.finalized`, ...) are answered 200 and publish nothing, so Telnyx doesn't retry them.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from inbound.message import InboundMessage
from inbound.providers.base import (
    MalformedBody,
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    SignatureInvalid,
    SignatureMissing,
    WebhookReply,
    WebhookRequest,
    json_object,
    require_media_type,
)
from inbound.providers.public_keys import public_keys
from inbound.providers.signing import decode_base64
from inbound.providers.timestamps import iso_utc, require_fresh, unix_seconds

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

SIGNATURE = "telnyx-signature-ed25519"
TIMESTAMP = "telnyx-timestamp"
# The tolerance Telnyx's SDKs apply: older is a replay; newer than now allows for clock skew.
MAX_AGE_SECONDS = 300
MAX_SKEW_SECONDS = 300
RECEIVED = "message.received"


def signed_message(timestamp: str, body: bytes) -> bytes:
    """What Telnyx signs: the timestamp header, `|`, then the raw body."""
    return timestamp.encode("ascii") + b"|" + body


class Telnyx:
    """Verifies the Ed25519 signature and timestamp, and parses `message.received` events."""

    name = "telnyx"
    methods = frozenset({"POST"})

    def __init__(
        self,
        keys: Sequence[Ed25519PublicKey],
        messaging_profile_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = list(keys)
        self._profile = messaging_profile_id
        self._clock = clock

    async def verify(self, request: WebhookRequest) -> None:
        """Check the signature over `timestamp|body`, its age, and the messaging profile."""
        given = request.header(SIGNATURE)
        stamp = request.header(TIMESTAMP)
        if not given or not stamp:
            missing = SIGNATURE if not given else TIMESTAMP
            raise SignatureMissing(f"{missing} header is missing", field=missing)
        sent_at = unix_seconds(stamp, TIMESTAMP)
        try:
            signature = decode_base64(given.strip())
        except (binascii.Error, ValueError):
            raise SignatureInvalid(f"{SIGNATURE} is not base64", field=SIGNATURE) from None
        message = signed_message(stamp.strip(), request.body)
        matched = False
        for key in self._keys:  # every key, so the time taken doesn't tell which one matched
            try:
                key.verify(signature, message)
                matched = True
            except InvalidSignature:
                pass
        if not matched:
            raise SignatureInvalid(f"{SIGNATURE} does not match this request", field=SIGNATURE)
        # After the signature, so only a genuine request is ever called stale.
        require_fresh(sent_at, self._clock(), TIMESTAMP, MAX_AGE_SECONDS, MAX_SKEW_SECONDS)
        if self._profile is not None:
            payload = _payload(_event(request))
            if payload.get("messaging_profile_id") != self._profile:
                raise SignatureInvalid(
                    "messaging_profile_id is not the configured Telnyx profile",
                    field="data.payload.messaging_profile_id",
                )

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The message of an inbound `message.received` event; none for any other event."""
        event = _event(request)
        if event.get("event_type") != RECEIVED:
            return []
        payload = _payload(event)
        if payload.get("direction") != "inbound":
            return []
        sender = _object(payload.get("from"), "data.payload.from")
        recipients = payload.get("to")
        if not isinstance(recipients, list) or not recipients:
            raise PayloadInvalid("data.payload.to must list a number", field="data.payload.to")
        recipient = _object(recipients[0], "data.payload.to[0]")
        text = payload.get("text")
        if text is not None and not isinstance(text, str):
            raise PayloadInvalid("data.payload.text must be a string", field="data.payload.text")
        received = payload.get("received_at") or event.get("occurred_at")
        if received is not None and not isinstance(received, str):
            raise PayloadInvalid(
                "data.payload.received_at must be a string", field="data.payload.received_at"
            )
        return [
            ParsedMessage(
                provider_message_id=_text(payload, "id", "data.payload.id"),
                sender=_text(sender, "phone_number", "data.payload.from.phone_number"),
                recipient=_text(recipient, "phone_number", "data.payload.to[0].phone_number"),
                text=text or "",  # null for an MMS with only media
                received_at=iso_utc(received, "data.payload.received_at") if received else None,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 with no body, well inside Telnyx's 2-second limit."""
        return WebhookReply(200)


def _event(request: WebhookRequest) -> Mapping[str, object]:
    require_media_type(request, "application/json")
    try:
        body = json_object(request.body)
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None
    return _object(body.get("data"), "data")


def _payload(event: Mapping[str, object]) -> Mapping[str, object]:
    return _object(event.get("payload"), "data.payload")


def _object(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise PayloadInvalid(f"{field} must be a JSON object", field=field)
    return value


def _text(fields: Mapping[str, object], name: str, field: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PayloadInvalid(f"missing or empty {field}", field=field)
    return value


def _build(settings: Settings) -> Telnyx | None:
    if not settings.telnyx_public_key:
        return None
    return Telnyx(public_keys(settings.telnyx_public_key), settings.telnyx_messaging_profile_id)


SPEC = ProviderSpec("telnyx", "INBOUND_TELNYX_PUBLIC_KEY", _build)
