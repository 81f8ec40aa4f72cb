"""AWS End User Messaging (Pinpoint) two-way SMS, delivered by an SNS HTTPS subscription.

SNS posts a JSON envelope (as `text/plain`, or `application/json` when the delivery policy says
so) signed with RSA: SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, over a string built
from named envelope fields. The public key is in the certificate at `SigningCertURL`, which is
fetched only from `https://sns.<region>.amazonaws.com/<name>.pem` and cached. The `TopicArn` must
be one we configured; the `x-amz-sns-message-type` header is ignored because `Type` is signed.

SNS treats any 4xx as delivered and never retries it, so only a request that is surely not
genuine (bad signature, unknown topic, certificate URL off AWS) or surely unusable gets a 4xx;
a certificate or confirmation we couldn't fetch is our trouble and gets a 503, which SNS retries.
A genuine message is never refused for its age: retries keep the original `Timestamp`, and
dedupe on `inboundMessageId` absorbs repeats.

A `SubscriptionConfirmation` for a configured topic is confirmed during `verify` by fetching its
`SubscribeURL` (also only on an AWS SNS host); it and `UnsubscribeConfirmation` publish nothing.
"""

from __future__ import annotations

import binascii
import json
import re
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from inbound.message import InboundMessage
from inbound.providers.base import (
    MalformedBody,
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    SignatureInvalid,
    WebhookError,
    WebhookReply,
    WebhookRequest,
    json_object,
    require_media_type,
)
from inbound.providers.signing import decode_base64
from inbound.providers.sns_http import AiohttpFetcher, Fetcher, FetchFailed
from inbound.providers.timestamps import iso_utc

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"

# The envelope fields each message type signs, in the order they are signed.
SIGNED_FIELDS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS[UNSUBSCRIBE_CONFIRMATION] = SIGNED_FIELDS[SUBSCRIPTION_CONFIRMATION]
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# Certificates kept at once; SNS uses one per region, rotated rarely.
CACHE_SIZE = 16

# sns.<region>.amazonaws.com, region like eu-west-2 or us-gov-west-1; nothing else, no port.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\.amazonaws\.com")
_PEM_PATH = re.compile(r"/[A-Za-z0-9_.-]+\.pem")


class CertificateUnavailable(WebhookError):
    """The signing certificate couldn't be fetched or read: our trouble, so SNS should retry."""

    status = 503
    code = "certificate_unavailable"


class ConfirmationFailed(WebhookError):
    """The subscription couldn't be confirmed just now: SNS should send the confirmation again."""

    status = 503
    code = "confirmation_failed"


def is_sns_url(url: str, path: re.Pattern[str] | None = None) -> bool:
    """True only for `https://sns.<region>.amazonaws.com` URLs (path matching `path` if given).

    Strict on purpose: no user info, no port, no look-alike hosts (`sns.x.amazonaws.com.evil`,
    `evilsns.x.amazonaws.com`), ASCII only, so the URL fetched is the URL checked.
    """
    if not url.isascii() or any(char in url for char in " \\\t\r\n"):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if parts.scheme != "https" or not _SNS_HOST.fullmatch(parts.netloc) or parts.fragment:
        return False
    return path is None or (path.fullmatch(parts.path) is not None and not parts.query)


def string_to_sign(envelope: Mapping[str, object]) -> bytes:
    """The bytes SNS signs: `Name\\nvalue\\n` for each signed field of the message's type."""
    kind = envelope.get("Type")
    if not isinstance(kind, str) or kind not in SIGNED_FIELDS:
        raise PayloadInvalid(f"Type {kind!r} is not an SNS message type", field="Type")
    lines = []
    for name in SIGNED_FIELDS[kind]:
        value = envelope.get(name)
        if value is None and name == "Subject":
            continue  # signed only when present
        if not isinstance(value, str):
            raise PayloadInvalid(f"{name} is missing or not a string", field=name)
        lines.append(f"{name}\n{value}\n")
    try:
        return "".join(lines).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody("a field is not valid Unicode (lone surrogate)") from None


@dataclass(frozen=True)
class _Certificate:
    key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime


class Sns:
    """Verifies SNS signatures for the configured topics; confirms their subscriptions."""

    name = "sns"
    methods = frozenset({"POST"})

    def __init__(
        self,
        topic_arns: Sequence[str],
        fetch: Fetcher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._topics = frozenset(topic_arns)
        self._fetch = fetch
        self._clock = clock
        self._certificates: OrderedDict[str, _Certificate] = OrderedDict()

    async def verify(self, request: WebhookRequest) -> None:
        """Check topic, certificate URL and signature; confirm a subscription when asked."""
        envelope = _envelope(request)
        message = string_to_sign(envelope)  # also checks Type and the signed fields
        topic = envelope.get("TopicArn")
        if not isinstance(topic, str) or topic not in self._topics:
            raise SignatureInvalid("TopicArn is not a configured topic", field="TopicArn")
        version = envelope.get("SignatureVersion")
        if not isinstance(version, str) or version not in HASHES:
            raise SignatureInvalid("SignatureVersion must be 1 or 2", field="SignatureVersion")
        try:
            signature = decode_base64(str(envelope.get("Signature", "")))
        except (binascii.Error, ValueError):
            raise SignatureInvalid("Signature is not base64", field="Signature") from None
        if not signature:
            raise SignatureInvalid("Signature is empty", field="Signature")
        url = envelope.get("SigningCertURL")
        if not isinstance(url, str) or not is_sns_url(url, _PEM_PATH):
            raise SignatureInvalid(
                "SigningCertURL is not a certificate on an AWS SNS host", field="SigningCertURL"
            )
        certificate = await self._certificate(url)
        now = datetime.fromtimestamp(self._clock(), UTC)
        if not certificate.not_before <= now <= certificate.not_after:
            raise SignatureInvalid("the signing certificate is not valid now", field="Signature")
        try:
            certificate.key.verify(signature, message, padding.PKCS1v15(), HASHES[version]())
        except InvalidSignature:
            raise SignatureInvalid("Signature does not match", field="Signature") from None
        if envelope["Type"] == SUBSCRIPTION_CONFIRMATION:
            await self._confirm(envelope)

    async def _certificate(self, url: str) -> _Certificate:
        cached = self._certificates.get(url)
        if cached is not None:
            self._certificates.move_to_end(url)
            return cached
        try:
            pem = await self._fetch(url)
        except FetchFailed as error:
            raise CertificateUnavailable(f"signing certificate not fetched: {error}") from None
        try:
            loaded = x509.load_pem_x509_certificate(pem)
            key = loaded.public_key()
        except (ValueError, UnsupportedAlgorithm):
            raise CertificateUnavailable("signing certificate is not a PEM certificate") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise CertificateUnavailable("signing certificate does not hold an RSA key")
        certificate = _Certificate(key, loaded.not_valid_before_utc, loaded.not_valid_after_utc)
        self._certificates[url] = certificate
        while len(self._certificates) > CACHE_SIZE:
            self._certificates.popitem(last=False)
        return certificate

    async def _confirm(self, envelope: Mapping[str, object]) -> None:
        url = str(envelope["SubscribeURL"])
        if not is_sns_url(url) or _query(url).get("Action") != "ConfirmSubscription":
            raise SignatureInvalid(
                "SubscribeURL is not an AWS SNS confirmation URL", field="SubscribeURL"
            )
        try:
            await self._fetch(url)
        except FetchFailed as error:
            raise ConfirmationFailed(f"subscription not confirmed: {error}") from None

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The SMS in a Notification's `Message`; none for (un)subscription confirmations."""
        envelope = _envelope(request)
        kind = envelope.get("Type")
        if not isinstance(kind, str) or kind not in SIGNED_FIELDS:
            raise PayloadInvalid(f"Type {kind!r} is not an SNS message type", field="Type")
        if kind != NOTIFICATION:
            return []
        raw = envelope.get("Message")
        if not isinstance(raw, str):
            raise PayloadInvalid("Message is missing or not a string", field="Message")
        try:
            inner = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise PayloadInvalid("Message is not JSON", field="Message") from None
        if not isinstance(inner, dict):
            raise PayloadInvalid("Message is not a JSON object", field="Message")
        body = inner.get("messageBody", "")
        if not isinstance(body, str):
            raise PayloadInvalid("messageBody must be a string", field="Message.messageBody")
        stamp = envelope.get("Timestamp")
        return [
            ParsedMessage(
                provider_message_id=_text(inner, "inboundMessageId"),
                sender=_text(inner, "originationNumber"),
                recipient=_text(inner, "destinationNumber"),
                text=body,
                received_at=iso_utc(stamp, "Timestamp") if isinstance(stamp, str) else None,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 with no body: SNS needs any 2xx."""
        return WebhookReply(200)


def _envelope(request: WebhookRequest) -> dict[str, object]:
    require_media_type(request, "text/plain", "application/json")
    try:
        return json_object(request.body)
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _text(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PayloadInvalid(f"missing or empty Message.{name}", field=f"Message.{name}")
    return value


def default_fetcher() -> Fetcher:
    """The fetcher a running server uses: real HTTPS requests to AWS."""
    return AiohttpFetcher()


def _build(settings: Settings) -> Sns | None:
    if not settings.sns_topic_arns:
        return None
    return Sns(settings.sns_topic_arns, default_fetcher())


SPEC = ProviderSpec("sns", "INBOUND_SNS_TOPIC_ARNS", _build)
