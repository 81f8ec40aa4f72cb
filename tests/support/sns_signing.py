"""A stand-in for AWS in SNS tests: a signing certificate the test generates, and a fetcher.

AWS can't be reached from the tests, so this is the one place a stand-in is used: the provider's
real code verifies real RSA signatures against a real X.509 certificate, served by a fetcher that
records what it was asked for. The signer is written from the SNS documentation, not from the
provider's code.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from inbound.providers.sns_http import FetchFailed

REGION = "eu-west-2"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:inbound-sms"
CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
UNSUBSCRIBE_URL = (
    f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:sub-1"
)
SUBSCRIBE_URL = (
    f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"
)

# The fields SNS signs, per message type, in order (from "Verifying the signatures of Amazon
# SNS messages"): Subject only when present.
_NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
_CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


@dataclass
class SigningKey:
    """An RSA key and a self-signed certificate for it, as PEM."""

    key: rsa.RSAPrivateKey
    pem: bytes

    @classmethod
    def generate(cls, valid_for: timedelta = timedelta(days=3650)) -> SigningKey:
        """A fresh 2048-bit key and a certificate valid from yesterday for `valid_for`."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        start = datetime.now(UTC) - timedelta(days=1)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + valid_for)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate.public_bytes(serialization.Encoding.PEM))


def string_to_sign(envelope: dict[str, Any]) -> bytes:
    """`Name\\nvalue\\n` for each signed field of the envelope's type."""
    names = _NOTIFICATION if envelope["Type"] == "Notification" else _CONFIRMATION
    return "".join(
        f"{name}\n{envelope[name]}\n" for name in names if envelope.get(name) is not None
    ).encode()


def sign(envelope: dict[str, Any], signer: SigningKey, version: str = "2") -> dict[str, Any]:
    """The envelope with SignatureVersion and Signature set (1: SHA1withRSA, 2: SHA256withRSA)."""
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS's v1
    signature = signer.key.sign(string_to_sign(envelope), padding.PKCS1v15(), algorithm)
    return {
        **envelope,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
    }


def sms(text: str = "Yes please", message_id: str | None = None, **fields: str) -> str:
    """The `Message` End User Messaging publishes for an inbound SMS."""
    return json.dumps(
        {
            "originationNumber": "+447700900123",
            "destinationNumber": "+447700900000",
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": text,
            "inboundMessageId": message_id or str(uuid.uuid4()),
            "previousPublishedMessageId": "wJalrXUtnFEMI-K7MDENG",
            **fields,
        }
    )


def notification(message: str | None = None, **fields: Any) -> dict[str, Any]:
    """An unsigned Notification envelope for our topic."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": sms() if message is None else message,
        "Timestamp": "2026-11-28T09:15:00.123Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": UNSUBSCRIBE_URL,
        **fields,
    }


def confirmation(kind: str = "SubscriptionConfirmation", **fields: Any) -> dict[str, Any]:
    """An unsigned (Un)SubscriptionConfirmation envelope for our topic."""
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": "tok",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2026-11-28T09:15:00.123Z",
        "SigningCertURL": CERT_URL,
        **fields,
    }


@dataclass
class FakeAws:
    """Serves certificates by URL and answers confirmation URLs; records every fetch."""

    certificates: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    failing: bool = False
    confirmations_fail: bool = False

    async def __call__(self, url: str) -> bytes:
        """Never suspends, so pure-verify helpers can drive it without an event loop."""
        self.fetched.append(url)
        if self.failing:
            raise FetchFailed("connection refused")
        if url in self.certificates:
            return self.certificates[url]
        if "Action=ConfirmSubscription" in url:
            if self.confirmations_fail:
                raise FetchFailed("HTTP 500")
            return b"<ConfirmSubscriptionResponse/>"
        raise FetchFailed("HTTP 404")
