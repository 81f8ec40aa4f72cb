"""Plivo incoming-message webhooks (the application's `message_url`), signed with V2.

`X-Plivo-Signature-V2` is Base64(HMAC-SHA256(auth token, URL without its query + nonce)), where the
nonce is `X-Plivo-Signature-V2-Nonce`. It is made with the token of the account or subaccount that
owns the number; `X-Plivo-Signature-Ma-V2` is the same made with the main account's token, so
either matching a configured token is enough. The signature does not cover the parameters and
carries no time: replays are absorbed by dedupe on `MessageUUID`.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from collections.abc import Sequence

from inbound.config import Settings
from inbound.message import InboundMessage
from inbound.providers.base import (
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    SignatureInvalid,
    SignatureMissing,
    WebhookReply,
    WebhookRequest,
    form_fields,
    require_media_type,
    required,
    secret_values,
)
from inbound.providers.signing import hmac_sha256, matches_any

FORM = "application/x-www-form-urlencoded"
SIGNATURE = "x-plivo-signature-v2"
MAIN_ACCOUNT_SIGNATURE = "x-plivo-signature-ma-v2"
NONCE = "x-plivo-signature-v2-nonce"
EMPTY_XML = b'<?xml version="1.0" encoding="utf-8"?><Response></Response>'


def signing_payload(url: str, nonce: str) -> bytes:
    """What Plivo signs: the URL it called, without query or fragment, then the nonce."""
    try:
        parts = urllib.parse.urlsplit(url)
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return (base + nonce).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        raise SignatureInvalid(f"{NONCE} or the URL can't be signed", field=NONCE) from None


def sign(auth_token: str, url: str, nonce: str) -> str:
    """The `X-Plivo-Signature-V2` value Plivo would send."""
    digest = hmac_sha256(auth_token.encode("utf-8"), signing_payload(url, nonce))
    return base64.b64encode(digest).decode("ascii")


class Plivo:
    """Verifies the V2 signature with the auth token(s) and parses the message parameters."""

    name = "plivo"
    methods = frozenset({"POST", "GET"})

    def __init__(self, auth_tokens: Sequence[str]) -> None:
        self._keys = [token.encode("utf-8") for token in auth_tokens]

    async def verify(self, request: WebhookRequest) -> None:
        """Check `X-Plivo-Signature-V2` (or the main account's `-Ma-V2`) over URL + nonce."""
        nonce = request.header(NONCE)
        signatures = [
            value
            for value in (request.header(SIGNATURE), request.header(MAIN_ACCOUNT_SIGNATURE))
            if value
        ]
        if not signatures:
            raise SignatureMissing("X-Plivo-Signature-V2 header is missing", field=SIGNATURE)
        if not nonce:
            raise SignatureMissing("X-Plivo-Signature-V2-Nonce header is missing", field=NONCE)
        payload = signing_payload(request.url, nonce)
        matched = False
        for value in signatures:
            try:
                expected = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise SignatureInvalid(f"{SIGNATURE} is not base64", field=SIGNATURE) from None
            matched |= matches_any(expected, self._keys, payload, hmac_sha256)
        if not matched:
            raise SignatureInvalid(f"{SIGNATURE} does not match this URL", field=SIGNATURE)

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message the webhook carries."""
        if request.method == "GET":
            pairs = list(request.query)
        else:
            require_media_type(request, FORM)
            pairs = form_fields(request.body)
        fields = dict(pairs)
        kind = fields.get("Type", "sms").strip().lower()
        if kind == "sms":
            text = fields.get("Text", "")
        elif kind == "mms":  # an MMS reply still says something: keep its text, not its media
            text = fields.get("Body", "")
        else:
            raise PayloadInvalid(f"Type {kind!r} is not an SMS or MMS", field="Type")
        return [
            ParsedMessage(
                provider_message_id=required(fields, "MessageUUID"),
                sender=required(fields, "From"),
                recipient=required(fields, "To"),
                text=text,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 with an empty Plivo XML response: nothing to send back inline."""
        return WebhookReply(200, EMPTY_XML, "application/xml")


def _build(settings: Settings) -> Plivo | None:
    tokens = secret_values(settings.plivo_auth_token)
    return Plivo(tokens) if tokens else None


SPEC = ProviderSpec("plivo", "INBOUND_PLIVO_AUTH_TOKEN", _build)
