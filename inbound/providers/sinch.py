"""Sinch SMS REST API inbound (MO) callbacks.

Sinch retries only 5xx and 429; any other 4xx is final. So a 4xx here means the request is
surely not genuine (bad signature or credentials) or surely malformed, never our own trouble.

`mo_binary` bodies are base64 with a separate `udh`: they are accepted and published, with the
decoded bytes as text when they are UTF-8, otherwise `[binary SMS] <base64>` so a caseworker
sees that something arrived (rules never match it). Delivery reports sent to the same URL are
answered 200 and publish nothing.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from inbound.message import InboundMessage
from inbound.providers import json_fields
from inbound.providers.base import (
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    SignatureInvalid,
    SignatureMissing,
    WebhookReply,
    WebhookRequest,
    require_media_type,
    secret_values,
)
from inbound.providers.basic_auth import BasicAuth, basic_auth
from inbound.providers.signing import decode_base64
from inbound.providers.timestamps import require_fresh

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

SIGNATURE = "x-sinch-webhook-signature"
NONCE = "x-sinch-webhook-signature-nonce"
TIMESTAMP = "x-sinch-webhook-signature-timestamp"
ALGORITHM = "x-sinch-webhook-signature-algorithm"
# Sinch retries 5xx/429 for about 23 hours; should a retry keep its first timestamp, a shorter
# window would refuse it with a 403, which Sinch treats as final. So the window is the retry
# span and replays inside it are absorbed by dedupe on the message id.
MAX_AGE_SECONDS = 24 * 3600
MAX_AHEAD_SECONDS = 300

_ALGORITHMS = {
    "hmacsha256": hashlib.sha256,
    "hmacsha384": hashlib.sha384,
    "hmacsha512": hashlib.sha512,
}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII: what we sign is what Sinch signed
_TEXT_TYPES = {"mo_text"}
_BINARY_TYPES = {"mo_binary"}


def signing_payload(body: bytes, nonce: str, timestamp: str) -> bytes:
    """What Sinch signs: the raw body, a dot, the nonce, a dot, the timestamp."""
    return body + b"." + nonce.encode("ascii") + b"." + timestamp.encode("ascii")


class Sinch:
    """Checks the callback HMAC and/or Basic credentials, whichever are configured; both if both."""

    name = "sinch"
    methods = frozenset({"POST"})

    def __init__(
        self,
        secrets: Sequence[str] = (),
        credentials: BasicAuth | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secrets and credentials is None:
            raise ValueError("Sinch needs an HMAC secret or Basic credentials")
        self._keys = [secret.encode("utf-8") for secret in secrets]
        self._credentials = credentials
        self._clock = clock

    async def verify(self, request: WebhookRequest) -> None:
        """Check every configured scheme: Basic credentials, then the signed body."""
        if self._credentials is not None:
            self._credentials.check(request)
        if self._keys:
            self._check_signature(request)

    def _check_signature(self, request: WebhookRequest) -> None:
        given = request.header(SIGNATURE)
        nonce = request.header(NONCE)
        stamp = request.header(TIMESTAMP)
        if not given or not nonce or not stamp:
            missing = SIGNATURE if not given else NONCE if not nonce else TIMESTAMP
            raise SignatureMissing(f"{missing} header is missing", field=missing)
        algorithm = _ALGORITHMS.get((request.header(ALGORITHM) or "HmacSHA256").lower())
        if algorithm is None:
            raise SignatureInvalid(f"{ALGORITHM} is not one Sinch uses", field=ALGORITHM)
        if not _TIMESTAMP.fullmatch(stamp):
            raise SignatureInvalid(f"{TIMESTAMP} is not Unix seconds", field=TIMESTAMP)
        if not _NONCE.fullmatch(nonce):
            raise SignatureInvalid(f"{NONCE} is not a nonce", field=NONCE)
        try:
            expected = decode_base64(given)
        except (binascii.Error, ValueError):
            raise SignatureInvalid(f"{SIGNATURE} is not base64", field=SIGNATURE) from None
        message = signing_payload(request.body, nonce, stamp)
        matched = False
        for key in self._keys:  # all keys, so timing doesn't tell which one matched
            matched |= hmac.compare_digest(expected, hmac.new(key, message, algorithm).digest())
        if not matched:
            raise SignatureInvalid(f"{SIGNATURE} does not match this request", field=SIGNATURE)
        # Checked after the signature, so only a genuine but old request is called stale.
        require_fresh(int(stamp), self._clock(), TIMESTAMP, MAX_AGE_SECONDS, MAX_AHEAD_SECONDS)

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one MO message a callback carries; none for a delivery report."""
        require_media_type(request, "application/json")
        payload = json_fields.json_obj(request.body)
        kind = json_fields.text(payload, "type")
        if "delivery_report" in kind:
            return []
        if kind not in _TEXT_TYPES | _BINARY_TYPES:
            raise PayloadInvalid(f"type {kind!r} is not an inbound SMS", field="type")
        body = json_fields.body_text(payload, "body")
        return [
            ParsedMessage(
                provider_message_id=json_fields.text(payload, "id"),
                sender=json_fields.text(payload, "from"),
                recipient=json_fields.text(payload, "to"),
                text=body if kind in _TEXT_TYPES else binary_text(body),
                received_at=json_fields.optional_time(payload, "received_at"),
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200: Sinch needs only a 2xx."""
        return WebhookReply(200)


def binary_text(body: str) -> str:
    """A `mo_binary` body as text: its bytes when they are UTF-8, else a visible marker."""
    try:
        data = decode_base64(body)
    except (binascii.Error, ValueError):
        raise PayloadInvalid("body of a mo_binary message is not base64", field="body") from None
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"[binary SMS] {body}"
    # Control characters (NUL above all, which PostgreSQL can't store) mean it isn't text.
    if any(ord(char) < 32 and char not in "\t\n\r" for char in decoded):
        return f"[binary SMS] {body}"
    return decoded


def _build(settings: Settings) -> Sinch | None:
    secrets = secret_values(settings.sinch_webhook_secret)
    credentials = basic_auth(settings.sinch_basic_auth, "INBOUND_SINCH_BASIC_AUTH")
    if not secrets and credentials is None:
        return None
    return Sinch(secrets, credentials)


SPEC = ProviderSpec("sinch", "INBOUND_SINCH_WEBHOOK_SECRET and/or INBOUND_SINCH_BASIC_AUTH", _build)
