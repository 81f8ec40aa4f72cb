"""Vonage Messages API inbound SMS, with JWTs the test signs as Vonage documents (HS256)."""

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

from inbound.providers.base import (
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.vonage_messages import UnsignedCallback, VonageMessages
from tests.unit.providers.arbitrary import ANY_TEXT, bodies, only_webhook_errors, requests

NOW = 1_790_000_000
SECRET = "vonage-signature-secret-of-32-bytes"
URL = "https://sms.example.gov.uk/webhooks/vonage-messages"
API_KEY = "abcd1234"
APPLICATION = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
INBOUND: dict[str, Any] = {
    "channel": "sms",
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "to": "447700900000",
    "from": "447700900123",
    "timestamp": "2026-11-28T09:15:00Z",
    "text": "Yes please",
    "sms": {"num_messages": "1", "keyword": "YES"},
    "usage": {"price": "0.0057", "currency": "EUR"},
    "message_type": "text",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    """A compact JWS written out by hand (RFC 7515), so the test doesn't trust PyJWT to sign."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def signed(
    payload: dict[str, Any] | bytes = INBOUND,
    secret: str = SECRET,
    **claims: Any,
) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    all_claims = {
        "iat": NOW,
        "jti": "0f0f0f0f-1111-2222-3333-444444444444",
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": API_KEY,
        "application_id": APPLICATION,
        **claims,
    }
    headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {token(all_claims, secret)}",
    }
    return WebhookRequest("POST", URL, headers, body)


def provider(*secrets: str, api_key: str | None = None, app: str | None = None) -> VonageMessages:
    return VonageMessages(secrets or (SECRET,), api_key, app, clock=lambda: NOW + 5)


async def test_genuine_webhook_verifies_and_parses() -> None:
    request = signed()
    vonage = provider(api_key=API_KEY, app=APPLICATION)
    await vonage.verify(request)
    [message] = vonage.parse(request)
    assert message.provider_message_id == INBOUND["message_uuid"]
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes please"
    assert message.received_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)


async def test_either_of_two_secrets_is_accepted_during_rotation() -> None:
    vonage = provider("old-secret", "new-secret")
    await vonage.verify(signed(secret="old-secret"))
    await vonage.verify(signed(secret="new-secret"))
    with pytest.raises(SignatureInvalid):
        await vonage.verify(signed(secret="another"))


async def test_tampered_body_fails_the_payload_hash() -> None:
    request = signed()
    body = request.body.replace(b"Yes", b"No!")
    with pytest.raises(SignatureInvalid) as caught:
        await provider().verify(WebhookRequest("POST", URL, request.headers, body))
    assert caught.value.field == "payload_hash"


async def test_missing_jwt_asks_vonage_to_retry() -> None:
    request = signed()
    headers = {"content-type": "application/json"}
    with pytest.raises(UnsignedCallback) as caught:
        await provider().verify(WebhookRequest("POST", URL, headers, request.body))
    assert isinstance(caught.value, SignatureMissing)
    assert caught.value.status == 503


@pytest.mark.parametrize(
    "authorization",
    ["Basic abc", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Bearer \udcff.a.b", "bearer x y"],
)
async def test_malformed_authorization_is_refused(authorization: str) -> None:
    request = signed()
    headers = {**request.headers, "authorization": authorization}
    with pytest.raises(SignatureInvalid):
        await provider().verify(WebhookRequest("POST", URL, headers, request.body))


async def test_token_with_another_algorithm_is_refused() -> None:
    body = json.dumps(INBOUND).encode()
    unsigned = b64url(json.dumps({"alg": "none"}).encode()) + "." + b64url(b'{"iat": 1}') + "."
    headers = {"content-type": "application/json", "authorization": f"Bearer {unsigned}"}
    with pytest.raises(SignatureInvalid):
        await provider().verify(WebhookRequest("POST", URL, headers, body))


@pytest.mark.parametrize(
    ("claims", "field"),
    [
        ({"iat": NOW - 25 * 3600 - 60}, "iat"),
        ({"iat": NOW + 600}, "iat"),
        ({"iat": "yesterday"}, "iat"),
        ({"iat": None}, "iat"),
        ({"iat": float("nan")}, "iat"),
        ({"iat": float("-inf")}, "iat"),
        ({"iat": True}, "iat"),
        ({"payload_hash": None}, "payload_hash"),
        ({"payload_hash": "00" * 32}, "payload_hash"),
    ],
)
async def test_bad_claims_are_refused(claims: dict[str, Any], field: str) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        await provider().verify(signed(**claims))
    assert caught.value.field == field


async def test_token_issued_within_the_retry_span_is_accepted() -> None:
    # Vonage retries for 24 hours and doesn't document a fresh token per attempt.
    await provider().verify(signed(iat=NOW - 23 * 3600))


@pytest.mark.parametrize(("claim", "setting"), [("api_key", "api_key"), ("application_id", "app")])
async def test_other_account_or_application_is_refused(claim: str, setting: str) -> None:
    vonage = provider(**{setting: "someone-else"})
    with pytest.raises(SignatureInvalid) as caught:
        await vonage.verify(signed())
    assert caught.value.field == claim


def test_status_webhook_publishes_nothing() -> None:
    status = {
        "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "to": "447700900123",
        "from": "447700900000",
        "timestamp": "2026-11-28T09:15:00Z",
        "status": "delivered",
        "channel": "sms",
    }
    assert provider().parse(signed(status)) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "whatsapp"}, "channel"),
        ({"message_type": "image"}, "message_type"),
        ({"message_uuid": ""}, "message_uuid"),
        ({"from": None}, "from"),
        ({"to": 447700900000}, "to"),
        ({"text": ["yes"]}, "text"),
        ({"timestamp": "28/11/2026"}, "timestamp"),
        ({"timestamp": 1}, "timestamp"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        provider().parse(signed({**INBOUND, **changes}))
    assert caught.value.field == field


@pytest.mark.parametrize("sender", ["GOVUK", "60123"])
def test_alphanumeric_senders_and_short_codes_are_kept(sender: str) -> None:
    [message] = provider().parse(signed({**INBOUND, "from": sender}))
    assert message.sender == sender


def test_form_body_is_unsupported() -> None:
    request = signed()
    headers = {**request.headers, "content-type": "application/x-www-form-urlencoded"}
    with pytest.raises(UnsupportedMediaType):
        provider().parse(WebhookRequest("POST", URL, headers, b"a=1"))


@settings(max_examples=300, deadline=None)
@given(
    requests(
        {"authorization": ANY_TEXT.map(lambda text: "Bearer " + text) | st.just("Bearer a.b.c")},
        bodies(template=INBOUND),
    )
)
def test_any_request_raises_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(provider(api_key=API_KEY), request)


claim_values = st.none() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT | st.booleans()


@settings(max_examples=300, deadline=None)
@given(
    bodies(template=INBOUND),
    st.dictionaries(
        st.sampled_from(["iat", "payload_hash", "api_key", "application_id", "exp", "nbf"]),
        claim_values,
    ),
)
def test_correctly_signed_arbitrary_claims_and_bodies_raise_only_webhook_errors(
    body: bytes, claims: dict[str, Any]
) -> None:
    try:
        request = signed(body, **claims)
    except (UnicodeEncodeError, ValueError):  # claims JSON can't carry (lone surrogates, nan)
        return
    only_webhook_errors(provider(api_key=API_KEY, app=APPLICATION), request)
