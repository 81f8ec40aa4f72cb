"""Telnyx message.received webhooks, signed in the test with an Ed25519 key pair it generates."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.telnyx import Telnyx, public_keys
from tests.unit.providers.arbitrary import bodies, only_webhook_errors, requests

NOW = 1_790_000_000
URL = "https://sms.example.gov.uk/webhooks/telnyx"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
PROFILE = "0f512bda-ae1e-4597-8e11-e5f5686b97d3"
EVENT: dict[str, Any] = {
    "data": {
        "record_type": "event",
        "id": "bf6307bd-884d-4c1f-b6ea-c62b8c495d3c",
        "event_type": "message.received",
        "occurred_at": "2026-11-28T09:15:00.574Z",
        "payload": {
            "record_type": "message",
            "direction": "inbound",
            "id": "7ee4241c-f127-47e5-9c34-3aac291f8058",
            "type": "SMS",
            "messaging_profile_id": PROFILE,
            "from": {"phone_number": "+447700900123", "carrier": "", "line_type": "Wireless"},
            "to": [{"phone_number": "+447700900000", "status": "webhook_delivered"}],
            "text": "Yes please 👍",
            "media": [],
            "encoding": "UCS-2",
            "parts": 1,
            "received_at": "2026-11-28T09:15:00.123+00:00",
        },
    },
    "meta": {"attempt": 1, "delivered_to": URL},
}


def public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def signed(
    event: dict[str, Any] | bytes = EVENT,
    key: Ed25519PrivateKey = KEY,
    timestamp: int = NOW,
) -> WebhookRequest:
    """Telnyx's documented scheme: Ed25519 over `timestamp|raw body`, base64 in a header."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    signature = key.sign(str(timestamp).encode() + b"|" + body)
    headers = {
        "content-type": "application/json",
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": str(timestamp),
    }
    return WebhookRequest("POST", URL, headers, body)


def telnyx(*keys: Ed25519PrivateKey, profile: str | None = None) -> Telnyx:
    setting = ",".join(public(key) for key in keys or (KEY,))
    return Telnyx(public_keys(setting), profile, clock=lambda: NOW + 10)


def changed(**payload: Any) -> dict[str, Any]:
    return {**EVENT, "data": {**EVENT["data"], "payload": {**EVENT["data"]["payload"], **payload}}}


async def test_genuine_event_verifies_and_parses() -> None:
    request = signed()
    provider = telnyx(profile=PROFILE)
    await provider.verify(request)
    [message] = provider.parse(request)
    assert message.provider_message_id == "7ee4241c-f127-47e5-9c34-3aac291f8058"
    assert (message.sender, message.recipient) == ("+447700900123", "+447700900000")
    assert message.text == "Yes please 👍"
    assert message.received_at == datetime(2026, 11, 28, 9, 15, 0, 123000, tzinfo=UTC)


async def test_either_of_two_keys_is_accepted_during_rotation() -> None:
    provider = telnyx(OTHER_KEY, KEY)
    await provider.verify(signed(key=KEY))
    await provider.verify(signed(key=OTHER_KEY))
    with pytest.raises(SignatureInvalid):
        await provider.verify(signed(key=Ed25519PrivateKey.generate()))


async def test_tampered_body_is_refused() -> None:
    request = signed()
    body = request.body.replace(b"Yes", b"No!")
    with pytest.raises(SignatureInvalid):
        await telnyx().verify(WebhookRequest("POST", URL, request.headers, body))


async def test_changed_timestamp_is_refused() -> None:
    request = signed()
    headers = {**request.headers, "telnyx-timestamp": str(NOW + 1)}
    with pytest.raises(SignatureInvalid):
        await telnyx().verify(WebhookRequest("POST", URL, headers, request.body))


@pytest.mark.parametrize("offset", [-311, -3600, 311])
async def test_timestamp_older_than_five_minutes_or_far_ahead_is_refused(offset: int) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        await telnyx().verify(signed(timestamp=NOW + 10 + offset))
    assert caught.value.field == "telnyx-timestamp"


@pytest.mark.parametrize("header", ["telnyx-signature-ed25519", "telnyx-timestamp"])
async def test_missing_header_is_401_naming_it(header: str) -> None:
    request = signed()
    headers = {k: v for k, v in request.headers.items() if k != header}
    with pytest.raises(SignatureMissing) as caught:
        await telnyx().verify(WebhookRequest("POST", URL, headers, request.body))
    assert caught.value.field == header


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode(), "===="])
async def test_malformed_signature_is_refused(value: str) -> None:
    request = signed()
    headers = {**request.headers, "telnyx-signature-ed25519": value}
    with pytest.raises(SignatureInvalid):
        await telnyx().verify(WebhookRequest("POST", URL, headers, request.body))


async def test_other_messaging_profile_is_refused() -> None:
    with pytest.raises(SignatureInvalid) as caught:
        await telnyx(profile="another-profile").verify(signed())
    assert caught.value.field == "data.payload.messaging_profile_id"


@pytest.mark.parametrize(
    "event",
    [
        {**EVENT, "data": {**EVENT["data"], "event_type": "message.sent"}},
        {**EVENT, "data": {**EVENT["data"], "event_type": "message.finalized"}},
        changed(direction="outbound"),
    ],
)
def test_other_events_publish_nothing(event: dict[str, Any]) -> None:
    assert telnyx().parse(signed(event)) == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (changed(id=None), "data.payload.id"),
        (changed(**{"from": {"carrier": "x"}}), "data.payload.from.phone_number"),
        (changed(to=[]), "data.payload.to"),
        (changed(to=["+447700900000"]), "data.payload.to[0]"),
        (changed(text=7), "data.payload.text"),
        (changed(received_at="yesterday"), "data.payload.received_at"),
        ({"data": []}, "data"),
        ({**EVENT, "data": {**EVENT["data"], "payload": "x"}}, "data.payload"),
    ],
)
def test_bad_fields_are_named(event: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        telnyx().parse(signed(event))
    assert caught.value.field == field


def test_media_only_message_has_empty_text() -> None:
    [message] = telnyx().parse(signed(changed(text=None, type="MMS")))
    assert message.text == ""


@pytest.mark.parametrize("sender", ["GOVUK", "60123"])
def test_alphanumeric_senders_and_short_codes_are_kept(sender: str) -> None:
    [message] = telnyx().parse(signed(changed(**{"from": {"phone_number": sender}})))
    assert message.sender == sender


def test_non_json_body_is_refused() -> None:
    with pytest.raises(MalformedBody):
        telnyx().parse(signed(b"{not json"))
    request = signed()
    form = WebhookRequest("POST", URL, {**request.headers, "content-type": "text/plain"}, b"{}")
    with pytest.raises(UnsupportedMediaType):
        telnyx().parse(form)


@pytest.mark.parametrize("setting", ["not-base64!", base64.b64encode(b"x" * 31).decode(), " , "])
def test_unusable_public_key_setting_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="key"):
        public_keys(setting)


def test_public_key_may_be_given_as_der() -> None:
    der = KEY.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    [key] = public_keys(base64.b64encode(der).decode())
    assert key.public_bytes(Encoding.Raw, PublicFormat.Raw) == KEY.public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )


@settings(max_examples=300, deadline=None)
@given(
    requests(
        {
            "telnyx-signature-ed25519": st.binary(max_size=70).map(
                lambda raw: base64.b64encode(raw).decode()
            ),
            "telnyx-timestamp": st.integers(NOW - 400, NOW + 400).map(str),
        },
        bodies(template=EVENT),
    )
)
def test_any_request_raises_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(telnyx(profile=PROFILE), request)


@settings(max_examples=300, deadline=None)
@given(bodies(template=EVENT), st.integers(NOW - 400, NOW + 400))
def test_correctly_signed_arbitrary_bodies_raise_only_webhook_errors(
    body: bytes, timestamp: int
) -> None:
    # Signed, so arbitrary bodies get past the signature into the profile check and the parser.
    only_webhook_errors(telnyx(profile=PROFILE), signed(body, timestamp=timestamp))


def test_public_key_setting_is_checked_at_start_up() -> None:
    from pydantic import ValidationError

    from inbound.config import Settings
    from inbound.providers.registry import enabled_providers

    with pytest.raises(ValidationError, match="telnyx_public_key"):
        Settings(telnyx_public_key="not a key")
    settings = Settings(telnyx_public_key=f"{public(KEY)},{public(OTHER_KEY)}")
    assert "telnyx" in enabled_providers(settings)
