"""Vonage SMS API (legacy) inbound-message webhooks, signed with the account's signature secret.

Vonage calls with GET (query string), POST form or POST JSON, as chosen in the Dashboard. A signed
webhook carries `sig` over every other parameter, `timestamp` and `nonce` included. Vonage resends
any inbound message not answered 200/204 for 24 hours, 4xx included, so a refusal here is not
final for a genuine message; dedupe on `messageId` absorbs the resends.

Each part of a concatenated SMS arrives as its own webhook with its own `messageId`; the concat
fields become `ParsedMessage.part` and the worker joins the parts.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from inbound.message import InboundMessage, Part
from inbound.providers.base import (
    MalformedBody,
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookReply,
    WebhookRequest,
    form_fields,
    json_object,
    required,
    secret_values,
)
from inbound.providers.timestamps import naive_utc, require_fresh, unix_seconds

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Vonage resends an unanswered message for 24 hours and may keep the `timestamp` of the first
# push, so a window any shorter could refuse a genuine resend (and lose the message): the window
# is the retry span plus an hour. Replays inside it are absorbed by dedupe on messageId.
MAX_AGE_SECONDS = 25 * 3600
# Vonage's clock running ahead of ours by more than this is not believable.
MAX_AHEAD_SECONDS = 300

# Signature method (the Dashboard's name) -> hash; md5hash is a plain MD5 with the secret appended.
DIGESTS: dict[str, Any] = {
    "md5hash": hashlib.md5,
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def signing_payload(params: Mapping[str, str]) -> bytes:
    """What Vonage signs: `&name=value` for every parameter but `sig`, sorted by name.

    `&` and `=` inside values are replaced by `_`, so a value can't fake another parameter.
    """
    text = "".join(
        f"&{name}={params[name].replace('&', '_').replace('=', '_')}"
        for name in sorted(params)
        if name != "sig"
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        raise MalformedBody("a parameter is not valid Unicode") from None


def digest(method: str, secret: bytes, payload: bytes) -> bytes:
    """The signature bytes for a payload under one secret and method."""
    if method == "md5hash":
        return hashlib.md5(payload + secret).digest()  # noqa: S324 - Vonage's scheme, not ours
    return hmac.new(secret, payload, DIGESTS[method]).digest()


def sign(secret: str, params: Mapping[str, str], method: str = "md5hash") -> str:
    """The `sig` Vonage would send for these parameters (lower-case hex)."""
    return digest(method, secret.encode("utf-8"), signing_payload(params)).hex()


class Vonage:
    """Verifies `sig` with the signature secret(s) and parses the inbound message."""

    name = "vonage"
    methods = frozenset({"GET", "POST"})

    def __init__(
        self,
        secrets: Sequence[str],
        method: str = "md5hash",
        api_key: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if method not in DIGESTS:
            raise ValueError(f"unknown Vonage signature method {method!r}")
        self._keys = [secret.encode("utf-8") for secret in secrets]
        self._method = method
        self._api_key = api_key
        self._clock = clock

    def params(self, request: WebhookRequest) -> dict[str, str]:
        """The webhook's parameters, from the query (GET), the form or the JSON body (POST)."""
        if request.method == "GET":
            pairs = list(request.query)
        elif request.media_type == FORM:
            pairs = form_fields(request.body)
        elif request.media_type == JSON:
            pairs = _json_pairs(request.body)
        else:
            raise UnsupportedMediaType(
                f"expected Content-Type {FORM} or {JSON}, got {request.media_type or 'none'}"
            )
        params: dict[str, str] = {}
        for name, value in pairs:
            if name in params:
                # Vonage never repeats a name; with two values, which one was signed is unclear.
                raise PayloadInvalid(f"parameter {name!r} is repeated", field=name)
            params[name] = value
        return params

    async def verify(self, request: WebhookRequest) -> None:
        """Check `sig` over the sorted parameters, the timestamp window and the API key."""
        params = self.params(request)
        given = params.get("sig", "").strip()
        if not given:
            raise SignatureMissing("sig is missing: enable signed webhooks", field="sig")
        stamp = params.get("timestamp")
        if stamp is None:
            raise SignatureMissing("timestamp is missing from a signed webhook", field="timestamp")
        try:
            # Hex compared as bytes: PHP and .NET send upper case, the others lower.
            expected = bytes.fromhex(given)
        except ValueError:
            raise SignatureInvalid("sig is not hex", field="sig") from None
        payload = signing_payload(params)
        matched = False
        for key in self._keys:  # every key, so the time taken doesn't tell which one matched
            matched |= hmac.compare_digest(expected, digest(self._method, key, payload))
        if not matched:
            raise SignatureInvalid("sig does not match this request", field="sig")
        # Checked after the signature, so only a genuine request is ever called stale.
        sent_at = unix_seconds(stamp, "timestamp")
        require_fresh(sent_at, self._clock(), "timestamp", MAX_AGE_SECONDS, MAX_AHEAD_SECONDS)
        if self._api_key is not None and params.get("api-key") != self._api_key:
            raise SignatureInvalid("api-key is not the configured Vonage account", field="api-key")

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message (or one part of a concatenated message) the webhook carries."""
        params = self.params(request)
        kind = params.get("type", "text")
        if kind == "binary":
            # Binary SMS carry hex `data` and a `udh`, not text: keep a visible marker so a
            # person sees something arrived (no rule matches it).
            text = f"[binary SMS] {params.get('data', '')}"
        else:
            text = params.get("text", "")
        stamp = params.get("message-timestamp")
        return [
            ParsedMessage(
                provider_message_id=required(params, "messageId"),
                sender=required(params, "msisdn"),
                recipient=required(params, "to"),
                text=text,
                received_at=naive_utc(stamp, "message-timestamp") if stamp else None,
                part=_part(params),
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 with no body: all Vonage needs."""
        return WebhookReply(200)


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        payload = json_object(body)
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None
    pairs = []
    for name, value in payload.items():
        # Vonage sends every value as a string; a number is harmless, anything else is not
        # something we could sign the way Vonage did.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise PayloadInvalid(f"{name} must be a string", field=name)
        pairs.append((name, value))
    return pairs


def _part(params: Mapping[str, str]) -> Part | None:
    if params.get("concat", "").lower() != "true":
        return None
    numbers = {}
    for field in ("concat-total", "concat-part"):
        value = required(params, field).strip()
        if not value.isascii() or not value.isdigit() or len(value) > 3:
            raise PayloadInvalid(f"{field} is not a part count", field=field)
        numbers[field] = int(value)
    if numbers["concat-total"] == 1:
        return None  # a "concatenated" message of one part is simply a message
    try:
        return Part(
            reference=required(params, "concat-ref"),
            total=numbers["concat-total"],
            number=numbers["concat-part"],
        )
    except ValidationError as error:
        first = error.errors()[0]
        wire = {"reference": "concat-ref", "total": "concat-total", "number": "concat-part"}
        loc = first["loc"][0] if first["loc"] else "number"
        field = wire.get(str(loc), "concat-part")
        raise PayloadInvalid(f"{field}: {first['msg']}", field=field) from None


def _build(settings: Settings) -> Vonage | None:
    secrets = secret_values(settings.vonage_signature_secret)
    if not secrets:
        return None
    return Vonage(secrets, settings.vonage_signature_method, settings.vonage_api_key)


SPEC = ProviderSpec("vonage", "INBOUND_VONAGE_SIGNATURE_SECRET", _build)
