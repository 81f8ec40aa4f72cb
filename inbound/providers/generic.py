"""inbound's own JSON webhook, for services that post messages to us directly."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from inbound.message import InboundMessage, Part
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
    secret_values,
)
from inbound.providers.signing import hmac_sha256, matches_any

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

SIGNATURE_HEADER = "x-inbound-signature"
_PREFIX = "sha256="


class GenericPayload(BaseModel):
    """The JSON body of a generic webhook."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1, max_length=200)
    sender: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(max_length=10_000)
    received_at: AwareDatetime | None = None
    part: Part | None = None  # for a long SMS delivered in parts: reference, total, number


def sign(secret: str, body: bytes) -> str:
    """The `X-Inbound-Signature` header value for a body."""
    return _PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Generic:
    """Verifies `X-Inbound-Signature: sha256=<hex>` and parses our JSON format."""

    name = "generic"
    methods = frozenset({"POST"})

    def __init__(self, secrets: Sequence[str]) -> None:
        self._keys = [secret.encode("utf-8") for secret in secrets]

    async def verify(self, request: WebhookRequest) -> None:
        """Check the HMAC-SHA256 of the raw body."""
        given = request.header(SIGNATURE_HEADER)
        if not given:
            raise SignatureMissing("X-Inbound-Signature header is missing")
        if not given.startswith(_PREFIX):
            raise SignatureInvalid("X-Inbound-Signature must look like sha256=<hex>")
        try:
            expected = bytes.fromhex(given[len(_PREFIX) :])
        except ValueError:
            raise SignatureInvalid("X-Inbound-Signature is not hex") from None
        if not matches_any(expected, self._keys, request.body, hmac_sha256):
            raise SignatureInvalid("X-Inbound-Signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message in the JSON body."""
        require_media_type(request, "application/json")
        try:
            payload = GenericPayload.model_validate(json_object(request.body))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or None
            if first["type"] == "string_unicode":  # a lone surrogate: not text at all
                raise MalformedBody(f"{field} is not valid Unicode", field=field) from None
            raise PayloadInvalid(f"{field}: {first['msg']}", field=field) from None
        return [
            ParsedMessage(
                provider_message_id=payload.id,
                sender=payload.sender,
                recipient=payload.to,
                text=payload.text,
                received_at=payload.received_at,
                part=payload.part,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """202 with the accepted id."""
        body = {"status": "accepted", "id": messages[0].provider_message_id if messages else None}
        return WebhookReply(202, json.dumps(body).encode(), "application/json")


def _build(settings: Settings) -> Generic | None:
    secrets = secret_values(settings.generic_secret)
    return Generic(secrets) if secrets else None


SPEC = ProviderSpec("generic", "INBOUND_GENERIC_SECRET", _build)
