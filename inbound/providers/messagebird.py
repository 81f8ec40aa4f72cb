"""MessageBird inbound SMS (virtual mobile number forward), GET query or POST form.

Authenticity is the `MessageBird-Signature-JWT` header, as MessageBird's own SDKs verify it: a
JWT signed HS256 (HS384/HS512 also allowed by the SDKs) with the signing key, issuer
`MessageBird`, required `nbf`, `exp` and `url_hash` (hex SHA-256 of the full URL called, query
included), and `payload_hash` (hex SHA-256 of the body) exactly when there is a body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jwt

from inbound.message import InboundMessage
from inbound.providers.base import (
    ParsedMessage,
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
from inbound.providers.json_fields import parse_time, unicode_text

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

SIGNATURE = "messagebird-signature-jwt"
ISSUER = "MessageBird"
ALGORITHMS = ["HS256", "HS384", "HS512"]
LEEWAY_SECONDS = 1  # as MessageBird's SDKs allow
FORM = "application/x-www-form-urlencoded"
# A compact JWS: three base64url parts. Checked first: PyJWT fails oddly on non-ASCII input.
_COMPACT_JWT = re.compile(r"[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*")


def _hex_sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).hexdigest().encode("ascii")


def _claim_matches(claim: object, expected: bytes) -> bool:
    # A claim may be any JSON value; compare only strings, as bytes, in constant time.
    if not isinstance(claim, str):
        return False
    return hmac.compare_digest(claim.lower().encode("utf-8", "surrogatepass"), expected)


class MessageBird:
    """Verifies `MessageBird-Signature-JWT` with the signing key(s) and parses the fields."""

    name = "messagebird"
    methods = frozenset({"GET", "POST"})

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("MessageBird needs a signing key")
        self._keys = list(keys)

    def _decode(self, token: str) -> dict[str, Any]:
        """The claims under whichever key signed the token; every key is tried."""
        claims: dict[str, Any] | None = None
        problem: str | None = None
        for key in self._keys:
            try:
                with warnings.catch_warnings():
                    # The key is the one MessageBird issued; warning on every request about
                    # its length would only bury the logs. No await inside: safe in asyncio.
                    warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                    decoded = jwt.decode(
                        token,
                        key,
                        algorithms=ALGORITHMS,
                        issuer=ISSUER,
                        leeway=LEEWAY_SECONDS,
                        options={
                            "require": ["iss", "nbf", "exp", "url_hash"],
                            "verify_iat": False,
                        },
                    )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as error:
                # PyJWT checks the signature before the claims: this key signed it, but the
                # token is expired, early, from another issuer, or not a JWT at all.
                problem = problem or str(error)
                continue
            claims = claims or decoded
        if claims is not None:
            return claims
        if problem is not None:
            raise SignatureInvalid(f"MessageBird-Signature-JWT: {problem}", field=SIGNATURE)
        raise SignatureInvalid("MessageBird-Signature-JWT is not signed by the signing key")

    async def verify(self, request: WebhookRequest) -> None:
        """Check the JWT's signature and times, then that it covers this URL and body."""
        token = request.header(SIGNATURE)
        if not token:
            raise SignatureMissing("MessageBird-Signature-JWT header is missing", field=SIGNATURE)
        token = token.strip()
        if len(token) > 8192 or not _COMPACT_JWT.fullmatch(token):
            raise SignatureInvalid("MessageBird-Signature-JWT is not a JWT", field=SIGNATURE)
        claims = self._decode(token)
        url = request.url.encode("utf-8", "surrogatepass")
        if not _claim_matches(claims.get("url_hash"), _hex_sha256(url)):
            raise SignatureInvalid("the JWT's url_hash is not this URL", field=SIGNATURE)
        payload_hash = claims.get("payload_hash")
        if request.body:
            if not _claim_matches(payload_hash, _hex_sha256(request.body)):
                raise SignatureInvalid("the JWT's payload_hash is not this body", field=SIGNATURE)
        elif payload_hash is not None:
            raise SignatureInvalid("the JWT has a payload_hash but there is no body")

    def _fields(self, request: WebhookRequest) -> Mapping[str, str]:
        if request.method == "GET":
            return dict(request.query)
        require_media_type(request, FORM)
        return dict(form_fields(request.body))

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message a forward carries."""
        fields = self._fields(request)
        created = fields.get("createdDatetime", "").strip()
        return [
            ParsedMessage(
                provider_message_id=unicode_text(required(fields, "id"), "id"),
                sender=unicode_text(required(fields, "originator"), "originator"),
                recipient=unicode_text(required(fields, "recipient"), "recipient"),
                text=unicode_text(fields.get("body", ""), "body"),
                received_at=parse_time(created, "createdDatetime") if created else None,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 OK, as MessageBird expects."""
        return WebhookReply(200, b"OK", "text/plain")


def _build(settings: Settings) -> MessageBird | None:
    keys = secret_values(settings.messagebird_signing_key)
    return MessageBird(keys) if keys else None


SPEC = ProviderSpec("messagebird", "INBOUND_MESSAGEBIRD_SIGNING_KEY", _build)
