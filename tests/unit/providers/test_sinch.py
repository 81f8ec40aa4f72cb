"""Sinch MO callbacks, signed in the test from Sinch's documented callback signing scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.basic_auth import basic_auth
from inbound.providers.sinch import Sinch
from tests.unit.providers.arbitrary import (
    ANY_TEXT,
    basic_headers,
    bodies,
    only_webhook_errors,
    requests,
    run,
)

NOW = 1_790_000_000
SECRET = "sinch-secret-1"
MO: dict[str, Any] = {
    "type": "mo_text",
    "id": "01FC66621VHDBN119Z8Y0S7XR",
    "from": "447700900123",
    "to": "447700900000",
    "body": "Yes please 👍",
    "received_at": "2026-11-28T09:15:00.123Z",
    "operator_id": "23410",
}


def sign(body: bytes, secret: str, nonce: str, timestamp: str, digest: Any = hashlib.sha256) -> str:
    message = body + b"." + nonce.encode() + b"." + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, digest).digest()).decode()


def signed(
    payload: dict[str, Any] | bytes = MO,
    secret: str = SECRET,
    timestamp: int = NOW,
    **extra: str,
) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    nonce = "01FJA8B4A7BM43YGWSG9GBV067"
    headers = {
        "content-type": "application/json",
        "x-sinch-webhook-signature": sign(body, secret, nonce, str(timestamp)),
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": str(timestamp),
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
        **extra,
    }
    return WebhookRequest("POST", "https://sms.example.gov.uk/webhooks/sinch", headers, body)


def sinch(*secrets: str, credentials: str | None = None) -> Sinch:
    checker = basic_auth(SecretStr(credentials), "X") if credentials else None
    return Sinch(secrets, checker, clock=lambda: NOW + 30)


async def test_genuine_mo_text_verifies_and_parses() -> None:
    request = signed()
    provider = sinch(SECRET)
    await provider.verify(request)
    [message] = provider.parse(request)
    assert message.provider_message_id == MO["id"]
    # Numbers as Sinch sent them, without "+": accept.py normalises to E.164.
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes please 👍"
    assert message.received_at == datetime(2026, 11, 28, 9, 15, 0, 123000, tzinfo=UTC)


async def test_either_of_two_secrets_is_accepted_during_rotation() -> None:
    provider = sinch("old-secret", "new-secret")
    await provider.verify(signed(secret="old-secret"))
    await provider.verify(signed(secret="new-secret"))
    with pytest.raises(SignatureInvalid):
        await provider.verify(signed(secret="another"))


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [("HmacSHA256", hashlib.sha256), ("HmacSHA512", hashlib.sha512)],
)
async def test_signature_algorithm_header_is_honoured(algorithm: str, digest: Any) -> None:
    body = json.dumps(MO).encode()
    request = signed(
        body,
        **{
            "x-sinch-webhook-signature": sign(body, SECRET, "n1", str(NOW), digest),
            "x-sinch-webhook-signature-nonce": "n1",
            "x-sinch-webhook-signature-algorithm": algorithm,
        },
    )
    await sinch(SECRET).verify(request)


async def test_tampered_body_is_refused() -> None:
    request = signed()
    tampered = WebhookRequest(
        "POST", request.url, request.headers, request.body.replace(b"Yes", b"No!")
    )
    with pytest.raises(SignatureInvalid):
        await sinch(SECRET).verify(tampered)


@pytest.mark.parametrize("skew", [301, -24 * 3600 - 1, 86_400])
async def test_timestamp_outside_the_retry_span_is_refused(skew: int) -> None:
    with pytest.raises(SignatureInvalid, match=r"too old|future"):
        await sinch(SECRET).verify(signed(timestamp=NOW + 30 + skew))


@pytest.mark.parametrize("skew", [-301, -3600, -23 * 3600])
async def test_a_retry_keeping_its_first_timestamp_is_accepted(skew: int) -> None:
    await sinch(SECRET).verify(signed(timestamp=NOW + 30 + skew))


@pytest.mark.parametrize(
    "header",
    [
        "x-sinch-webhook-signature",
        "x-sinch-webhook-signature-nonce",
        "x-sinch-webhook-signature-timestamp",
    ],
)
async def test_missing_signature_header_is_401_naming_it(header: str) -> None:
    request = signed()
    headers = {k: v for k, v in request.headers.items() if k != header}
    with pytest.raises(SignatureMissing) as caught:
        await sinch(SECRET).verify(WebhookRequest("POST", request.url, headers, request.body))
    assert caught.value.field == header


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-sinch-webhook-signature", "!!not base64!!"),
        ("x-sinch-webhook-signature-timestamp", "yesterday"),
        ("x-sinch-webhook-signature-timestamp", "١٧٩٠٠٠٠٠٠٠"),  # Arabic-Indic digits
        ("x-sinch-webhook-signature-nonce", "bad nonce"),
        ("x-sinch-webhook-signature-algorithm", "HmacMD5"),
    ],
)
async def test_malformed_signature_headers_are_403(header: str, value: str) -> None:
    with pytest.raises(SignatureInvalid):
        await sinch(SECRET).verify(signed(**{header: value}))


async def test_basic_auth_alone_is_enough_when_only_it_is_configured() -> None:
    provider = sinch(credentials="sinch:pw")
    body = json.dumps(MO).encode()
    token = base64.b64encode(b"sinch:pw").decode()
    headers = {"content-type": "application/json", "authorization": f"Basic {token}"}
    await provider.verify(WebhookRequest("POST", "https://x/webhooks/sinch", headers, body))


async def test_with_both_configured_both_are_required() -> None:
    provider = sinch(SECRET, credentials="sinch:pw")
    with pytest.raises(SignatureMissing):  # signed, but no credentials
        await provider.verify(signed())
    token = base64.b64encode(b"sinch:pw").decode()
    await provider.verify(signed(authorization=f"Basic {token}"))


def test_binary_message_utf8_body_is_its_text() -> None:
    payload = {**MO, "type": "mo_binary", "body": base64.b64encode(b"STOP").decode(), "udh": ""}
    [message] = sinch(SECRET).parse(signed(payload))
    assert message.text == "STOP"


def test_binary_message_that_is_not_text_is_kept_visibly() -> None:
    raw = base64.b64encode(b"\x00\xff\x10").decode()
    [message] = sinch(SECRET).parse(signed({**MO, "type": "mo_binary", "body": raw}))
    assert message.text == f"[binary SMS] {raw}"


def test_delivery_report_publishes_nothing() -> None:
    report = {"type": "delivery_report_sms", "batch_id": "b1", "statuses": []}
    assert sinch(SECRET).parse(signed(report)) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"from": ""}, "from"),
        ({"to": 447700900000}, "to"),
        ({"body": None}, "body"),
        ({"type": "mo_media"}, "type"),
        ({"received_at": "28/11/2026"}, "received_at"),
        ({"received_at": "2026-11-28T09:15:00"}, "received_at"),  # no offset: ambiguous
        ({"type": "mo_binary", "body": "not base64!"}, "body"),
    ],
)
def test_bad_field_is_422_naming_it(change: dict[str, Any], field: str) -> None:
    payload = {k: v for k, v in {**MO, **change}.items() if v is not None}
    with pytest.raises(PayloadInvalid) as caught:
        sinch(SECRET).parse(signed(payload))
    assert caught.value.field == field


@pytest.mark.parametrize("escape", ["\\ud800", "\\u0000"], ids=["lone-surrogate", "nul"])
def test_unstorable_text_is_400_naming_it(escape: str) -> None:
    body = json.dumps(MO).replace("Yes please", escape).encode()
    with pytest.raises(MalformedBody) as caught:
        sinch(SECRET).parse(signed(body))
    assert caught.value.field == "body"


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b"\xff", b"[" * 100_000 + b"]" * 100_000])
def test_undecodable_body_is_400(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        sinch(SECRET).parse(signed(body))


def test_form_body_is_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        sinch(SECRET).parse(signed(**{"content-type": "application/x-www-form-urlencoded"}))


SIGNATURE_HEADERS = {
    "x-sinch-webhook-signature": st.just(sign(json.dumps(MO).encode(), SECRET, "n", str(NOW))),
    "x-sinch-webhook-signature-nonce": st.sampled_from(["n", "01FJA8B4A7BM43YGWSG9GBV067"]),
    "x-sinch-webhook-signature-timestamp": st.sampled_from([str(NOW), "0", "9" * 40]),
    "x-sinch-webhook-signature-algorithm": st.sampled_from(["HmacSHA256", "hmacsha512"]),
    "authorization": basic_headers(),
}


@settings(max_examples=300)
@given(request=requests(SIGNATURE_HEADERS, bodies(MO)))
def test_any_request_gives_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(sinch(SECRET, credentials="sinch:pw"), request)
    only_webhook_errors(sinch(SECRET), request)


@given(text=ANY_TEXT)
def test_any_text_body_is_carried_or_refused_by_name(text: str) -> None:
    body = json.dumps({**MO, "body": text}).encode()
    provider = sinch(SECRET)
    run(provider.verify(signed(body)))
    storable = "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    if storable:
        [message] = provider.parse(signed(body))
        assert message.text == text
    else:
        with pytest.raises(MalformedBody) as caught:
            provider.parse(signed(body))
        assert caught.value.field == "body"
