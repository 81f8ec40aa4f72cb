"""Vonage Messages API inbound webhooks for the SMS channel, signed with a JWT.

Each webhook carries `Authorization: Bearer <JWT>`, HS256 with the account's signature secret,
whose claims include `payload_hash` (hex SHA-256 of the raw body), `iat`, `api_key` and
`application_id`.

Vonage retries 429 and 5xx answers, every few seconds backing off to every 15 minutes, for 24
hours; another 4xx is taken as final. Two choices follow from that:

- `iat` may be up to 25 hours old (the 24-hour retry span, plus an hour for queueing and clock
  skew), because Vonage doesn't document that a retry carries a fresh token. A replayed token
  can only replay its own body (`payload_hash` binds them), which dedupe on `message_uuid`
  absorbs. An `iat` more than 5 minutes ahead of our clock is refused.
- A webhook with no `Authorization` is answered 503, not 401: Vonage documents that an internal
  error can send one unsigned and that a 5xx makes it retry, signed. Nothing is stored either way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from math import isfinite
from typing import TYPE_CHECKING

import jwt

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
    secret_values,
)
from inbound.providers.timestamps import iso_utc, require_fresh

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

MAX_AGE_SECONDS = 25 * 3600
MAX_SKEW_SECONDS = 300
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_BEARER = re.compile(r"bearer\s+(\S+)\s*", re.IGNORECASE)


class UnsignedCallback(SignatureMissing):
    """No JWT at all: possibly Vonage's documented unsigned callback, so ask for a retry (503)."""

    status = 503


class VonageMessages:
    """Verifies the Bearer JWT and `payload_hash`, and parses inbound SMS messages."""

    name = "vonage-messages"
    methods = frozenset({"POST"})

    def __init__(
        self,
        secrets: Sequence[str],
        api_key: str | None = None,
        application_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = [secret.encode("utf-8") for secret in secrets]
        self._api_key = api_key
        self._application_id = application_id
        self._clock = clock

    async def verify(self, request: WebhookRequest) -> None:
        """Check the JWT's signature, `payload_hash`, `iat` and, when configured, the ids."""
        header = request.header("authorization")
        if not header:
            raise UnsignedCallback("Authorization header is missing", field="Authorization")
        found = _BEARER.fullmatch(header)
        if found is None or not _JWT.fullmatch(found.group(1)):
            raise SignatureInvalid("Authorization is not a Bearer JWT", field="Authorization")
        claims = self._claims(found.group(1))
        given = claims.get("payload_hash")
        body_hash = hashlib.sha256(request.body).hexdigest()
        if not isinstance(given, str) or not hmac.compare_digest(
            given.lower().encode("utf-8", "replace"), body_hash.encode("ascii")
        ):
            raise SignatureInvalid("payload_hash does not match the body", field="payload_hash")
        issued = claims.get("iat")
        # NaN would pass any comparison; JSON as Python reads it can hold NaN and Infinity.
        if not isinstance(issued, int | float) or isinstance(issued, bool) or not isfinite(issued):
            raise SignatureInvalid("iat claim is missing or not a number", field="iat")
        require_fresh(issued, self._clock(), "iat", MAX_AGE_SECONDS, MAX_SKEW_SECONDS)
        for claim, wanted in (("api_key", self._api_key), ("application_id", self._application_id)):
            if wanted is not None and claims.get(claim) != wanted:
                raise SignatureInvalid(f"{claim} is not the configured Vonage {claim}", field=claim)

    def _claims(self, token: str) -> Mapping[str, object]:
        found: Mapping[str, object] | None = None
        for key in self._keys:  # every key, so the time taken doesn't tell which one matched
            try:
                with warnings.catch_warnings():
                    # Vonage chooses the secret and its length; warning on every webhook is noise.
                    warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                    claims = jwt.decode(
                        token,
                        key,
                        algorithms=["HS256"],  # never what the token's header asks for
                        # Times are checked below, against our own (injectable) clock.
                        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
                    )
            except jwt.PyJWTError:
                continue
            found = found or claims
        if found is None:
            raise SignatureInvalid("the JWT is not signed with the signature secret")
        return found

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The inbound SMS in the body; none for a message-status webhook sent to this URL."""
        require_media_type(request, "application/json")
        try:
            payload = json_object(request.body)
        except RecursionError:
            raise MalformedBody("body is nested too deeply") from None
        if "status" in payload and "message_uuid" in payload and "message_type" not in payload:
            return []  # a status update for a message we sent: nothing arrived
        channel = payload.get("channel")
        if channel != "sms":
            raise PayloadInvalid(f"channel {channel!r} is not sms", field="channel")
        if payload.get("message_type", "text") != "text":
            raise PayloadInvalid("message_type must be text for SMS", field="message_type")
        text = payload.get("text", "")
        if not isinstance(text, str):
            raise PayloadInvalid("text must be a string", field="text")
        stamp = payload.get("timestamp")
        if stamp is not None and not isinstance(stamp, str):
            raise PayloadInvalid("timestamp must be a string", field="timestamp")
        return [
            ParsedMessage(
                provider_message_id=_text(payload, "message_uuid"),
                sender=_text(payload, "from"),
                recipient=_text(payload, "to"),
                text=text,
                received_at=iso_utc(stamp, "timestamp") if stamp else None,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 with no body."""
        return WebhookReply(200)


def _text(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PayloadInvalid(f"missing or empty {name}", field=name)
    return value


def _build(settings: Settings) -> VonageMessages | None:
    secrets = secret_values(settings.vonage_signature_secret)
    if not secrets:
        return None
    return VonageMessages(secrets, settings.vonage_api_key, settings.vonage_application_id)


SPEC = ProviderSpec("vonage-messages", "INBOUND_VONAGE_SIGNATURE_SECRET", _build)
