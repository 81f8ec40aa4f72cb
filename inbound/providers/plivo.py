"""Plivo incoming-message webhooks (the application's `message_url`), signed with V3 (and V2).

V3 (`X-Plivo-Signature-V3`, nonce `X-Plivo-Signature-V3-Nonce`) covers the whole request: the URL
with its query parameters sorted, then for a POST the form parameters sorted by name as
`name` + `value` pairs; a `.` and the nonce follow, and the result is Base64(HMAC-SHA256(auth
token, …)). The header may hold several signatures, comma-separated (one per token Plivo signs
with). `-Ma-V3` is the same made with the main account's token.

V2 (`X-Plivo-Signature-V2`, nonce `X-Plivo-Signature-V2-Nonce`) covers only the URL without its
query and the nonce: anyone holding one captured V2 signature can post any text under it. So a
request with a V3 signature is judged on V3 alone; one without is refused unless V2-only requests
are allowed (INBOUND_PLIVO_ALLOW_V2_ONLY), and then its V2 nonce is good once
(`single_use_nonce`: the receiver keeps the nonces seen). `-Ma-V2` is V2 with the main account's
token.

Checked against Plivo's signature-validation pages (voice "Signature validation V3", messaging
and verify "Validating requests") and the Python and Node SDKs' validators (plivo 4.63.0
`utils/signature_v3.py` and `utils/__init__.py`, plivo-node `lib/utils/v3Security.js`). Written
from that description, not copied.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import urllib.parse
from collections.abc import Sequence
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
    form_fields,
    require_media_type,
    required,
    secret_values,
)
from inbound.providers.signing import decode_base64, hmac_sha256, matches_any

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

FORM = "application/x-www-form-urlencoded"
SIGNATURE = "x-plivo-signature-v2"
MAIN_ACCOUNT_SIGNATURE = "x-plivo-signature-ma-v2"
NONCE = "x-plivo-signature-v2-nonce"
SIGNATURE_V3 = "x-plivo-signature-v3"
MAIN_ACCOUNT_SIGNATURE_V3 = "x-plivo-signature-ma-v3"
NONCE_V3 = "x-plivo-signature-v3-nonce"
EMPTY_XML = b'<?xml version="1.0" encoding="utf-8"?><Response></Response>'
# A SHA-256 HMAC is 32 bytes; other lengths can't match and aren't worth an HMAC comparison.
DIGEST_SIZE = 32


def _base_url(url: str, field: str) -> tuple[str, str]:
    """The URL without query or fragment, and its query string as sent."""
    try:
        parts = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path, "", "")
        ), parts.query
    except ValueError:
        raise SignatureInvalid("the URL can't be signed", field=field) from None


def _utf8(text: str, field: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise SignatureInvalid(
            f"{field} can't be signed (not valid Unicode)", field=field
        ) from None


def signing_payload(url: str, nonce: str) -> bytes:
    """What V2 signs: the URL Plivo called, without query or fragment, then the nonce."""
    base, _ = _base_url(url, NONCE)
    return _utf8(base + nonce, NONCE)


def v3_signing_payload(
    method: str, url: str, params: Sequence[tuple[str, str]], nonce: str
) -> bytes:
    """What V3 signs: URL, sorted query, sorted POST parameters, `.`, nonce (Plivo's layout).

    Query values are compared decoded (`a=b c`, not `a=b+c`), as Plivo's SDKs do. A POST with
    parameters always has a `?` after the path, and a `.` between a query and the parameters.
    """
    base, query = _base_url(url, NONCE_V3)
    query_pairs = sorted(form_fields(_utf8(query, NONCE_V3)))
    signed = base
    query_text = "&".join(f"{name}={value}" for name, value in query_pairs)
    posting = method == "POST" and bool(params)
    if query_text or posting:
        signed += "?" + query_text
    if posting:
        if query_text:
            signed += "."
        signed += "".join(name + value for name, value in sorted(params))
    return _utf8(f"{signed}.{nonce}", NONCE_V3)


def sign(auth_token: str, url: str, nonce: str) -> str:
    """The `X-Plivo-Signature-V2` value Plivo would send."""
    digest = hmac_sha256(auth_token.encode("utf-8"), signing_payload(url, nonce))
    return base64.b64encode(digest).decode("ascii")


def sign_v3(
    auth_token: str, method: str, url: str, params: Sequence[tuple[str, str]], nonce: str
) -> str:
    """One signature of an `X-Plivo-Signature-V3` value, as Plivo would make it."""
    digest = hmac_sha256(auth_token.encode("utf-8"), v3_signing_payload(method, url, params, nonce))
    return base64.b64encode(digest).decode("ascii")


def _digests(header_values: Sequence[str]) -> list[bytes]:
    # Each header may carry several comma-separated signatures; one that isn't base64 of a
    # SHA-256 HMAC can't match, so it is skipped rather than allowed to refuse the others.
    found: list[bytes] = []
    for value in header_values:
        for piece in value.split(","):
            try:
                digest = decode_base64(piece.strip())
            except (binascii.Error, ValueError):
                continue
            if len(digest) == DIGEST_SIZE:
                found.append(digest)
    return found


class Plivo:
    """Verifies V3 (or, where allowed, V2) with the auth token(s) and parses the parameters."""

    name = "plivo"
    methods = frozenset({"POST", "GET"})

    def __init__(self, auth_tokens: Sequence[str], allow_v2_only: bool = False) -> None:
        self._keys = [token.encode("utf-8") for token in auth_tokens]
        self._allow_v2_only = allow_v2_only

    async def verify(self, request: WebhookRequest) -> None:
        """V3 when the request has it (and it must match); else V2, only if allowed."""
        if _v3_signatures(request):
            self._verify_v3(request)
        elif self._allow_v2_only:
            self._verify_v2(request)
        else:
            raise SignatureMissing(
                "X-Plivo-Signature-V3 header is missing (V2 alone does not cover the message)",
                field=SIGNATURE_V3,
            )

    def single_use_nonce(self, request: WebhookRequest) -> str | None:
        """The V2 nonce of a request verified by V2 alone: accept it once. None under V3, which
        covers the message itself (a replay repeats a message dedupe absorbs)."""
        if _v3_signatures(request):
            return None
        return request.header(NONCE)

    def _verify_v3(self, request: WebhookRequest) -> None:
        nonce = request.header(NONCE_V3)
        if not nonce:
            raise SignatureMissing("X-Plivo-Signature-V3-Nonce header is missing", field=NONCE_V3)
        params: Sequence[tuple[str, str]] = ()
        if request.method == "POST" and request.body:
            require_media_type(request, FORM)
            params = request.form
        payload = v3_signing_payload(request.method, request.url, params, nonce)
        ours = [hmac_sha256(key, payload) for key in self._keys]
        matched = False
        # Every pair is compared, so the time taken doesn't tell which token or signature matched.
        for theirs in _digests(_v3_signatures(request)):
            for digest in ours:
                matched |= hmac.compare_digest(theirs, digest)
        if not matched:
            raise SignatureInvalid(
                "X-Plivo-Signature-V3 does not match this request", field=SIGNATURE_V3
            )

    def _verify_v2(self, request: WebhookRequest) -> None:
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
                expected = decode_base64(value.strip())
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
            pairs = list(request.form)
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


def _v3_signatures(request: WebhookRequest) -> list[str]:
    return [
        value
        for value in (request.header(SIGNATURE_V3), request.header(MAIN_ACCOUNT_SIGNATURE_V3))
        if value
    ]


def _build(settings: Settings) -> Plivo | None:
    tokens = secret_values(settings.plivo_auth_token)
    return Plivo(tokens, settings.plivo_allow_v2_only) if tokens else None


SPEC = ProviderSpec("plivo", "INBOUND_PLIVO_AUTH_TOKEN", _build)
