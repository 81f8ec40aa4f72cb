"""Twilio Programmable Messaging incoming-message webhooks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from inbound.message import InboundMessage
from inbound.providers.base import (
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    SignatureInvalid,
    SignatureMissing,
    WebhookReply,
    WebhookRequest,
    require_media_type,
    required,
    secret_values,
)
from inbound.providers.signing import decode_base64, hmac_sha1, matches_any

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

FORM = "application/x-www-form-urlencoded"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
# The same answer to every accepted webhook: built once (it is immutable).
ACCEPTED = WebhookReply(200, EMPTY_TWIML, "text/xml")


def signing_payload(url: str, params: Sequence[tuple[str, str]]) -> bytes:
    """The bytes Twilio signs: the full URL, then every POST parameter as name+value, sorted."""
    return (url + "".join(name + value for name, value in sorted(params))).encode("utf-8")


def sign(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` value Twilio would send for this request."""
    digest = hmac_sha1(auth_token.encode("utf-8"), signing_payload(url, params))
    return base64.b64encode(digest).decode("ascii")


class Twilio:
    """Verifies `X-Twilio-Signature` with the account's auth token(s) and parses the form."""

    name = "twilio"
    methods = frozenset({"POST", "GET"})

    def __init__(self, auth_tokens: Sequence[str], account_sid: str | None = None) -> None:
        self._keys = [token.encode("utf-8") for token in auth_tokens]
        self._account_sid = account_sid

    def _params(self, request: WebhookRequest) -> Sequence[tuple[str, str]]:
        if request.method == "GET":
            return request.query
        require_media_type(request, FORM)
        # Decoded once per request: verify and parse both read it.
        return request.form

    def _fields(self, request: WebhookRequest) -> Mapping[str, str]:
        if request.method == "GET":
            return dict(request.query)
        require_media_type(request, FORM)
        return request.form_map  # one dict per request, for verify and parse

    async def verify(self, request: WebhookRequest) -> None:
        """Check the HMAC-SHA1 signature over the URL and sorted parameters."""
        given = request.header("x-twilio-signature")
        if not given:
            raise SignatureMissing("X-Twilio-Signature header is missing")
        try:
            expected = decode_base64(given)
        except (binascii.Error, ValueError):
            raise SignatureInvalid("X-Twilio-Signature is not base64") from None
        params = self._params(request)
        # For GET the query string is already part of the URL; only POST adds parameters.
        signed = () if request.method == "GET" else params
        if not matches_any(expected, self._keys, signing_payload(request.url, signed), hmac_sha1):
            raise SignatureInvalid("X-Twilio-Signature does not match this request")
        if self._account_sid is not None:
            sid = self._fields(request).get("AccountSid")
            if sid != self._account_sid:
                raise SignatureInvalid("AccountSid is not the configured Twilio account")

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message a Twilio webhook carries."""
        fields = self._fields(request)
        sid = required(fields, "MessageSid")
        if not (sid.startswith(("SM", "MM")) and len(sid) == 34 and sid.isalnum()):
            raise PayloadInvalid("MessageSid is not a Twilio message SID", field="MessageSid")
        return [
            ParsedMessage(
                provider_message_id=sid,
                sender=required(fields, "From"),
                recipient=required(fields, "To"),
                text=fields.get("Body", ""),
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """An empty TwiML response: accepted, nothing to send back inline."""
        return ACCEPTED


def _build(settings: Settings) -> Twilio | None:
    tokens = secret_values(settings.twilio_auth_token)
    return Twilio(tokens, settings.twilio_account_sid) if tokens else None


SPEC = ProviderSpec("twilio", "INBOUND_TWILIO_AUTH_TOKEN", _build)
