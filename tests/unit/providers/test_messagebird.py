"""MessageBird forwards, with MessageBird-Signature-JWT built in the test from the documented
claims (HS256, iss MessageBird, nbf/exp, url_hash and payload_hash as hex SHA-256)."""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import jwt
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
from inbound.providers.messagebird import MessageBird
from tests.unit.providers.arbitrary import bodies, only_webhook_errors, requests

KEY = "messagebird-signing-key-0123456789abcdef"
URL = "https://sms.example.gov.uk/webhooks/messagebird"
FIELDS = [
    ("id", "e8077d803532c0b5937c639b60216938"),
    ("recipient", "447700900000"),
    ("originator", "447700900123"),
    ("body", "Yes & thanks = great"),
    ("createdDatetime", "2026-11-28T09:15:00+00:00"),
]
FORM = "application/x-www-form-urlencoded"


def token(url: str, body: bytes, key: str = KEY, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": "MessageBird",
        "nbf": now,
        "exp": now + 60,
        "jti": "1b9e0a1c",
        "url_hash": hashlib.sha256(url.encode()).hexdigest(),
    }
    if body:
        payload["payload_hash"] = hashlib.sha256(body).hexdigest()
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="HS256")


def post(fields: list[tuple[str, str]] = FIELDS, key: str = KEY, **claims: Any) -> WebhookRequest:
    body = urllib.parse.urlencode(fields).encode()
    headers = {"content-type": FORM, "messagebird-signature-jwt": token(URL, body, key, **claims)}
    return WebhookRequest("POST", URL, headers, body)


def get(fields: list[tuple[str, str]] = FIELDS) -> WebhookRequest:
    url = URL + "?" + urllib.parse.urlencode(fields)
    headers = {"messagebird-signature-jwt": token(url, b"")}
    return WebhookRequest("GET", url, headers, b"", fields)


@pytest.mark.parametrize("make", [post, get], ids=["post-form", "get-query"])
async def test_genuine_forward_verifies_and_parses(make: Any) -> None:
    request = make()
    provider = MessageBird([KEY])
    await provider.verify(request)
    [message] = provider.parse(request)
    assert message.provider_message_id == "e8077d803532c0b5937c639b60216938"
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes & thanks = great"
    assert message.received_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)


async def test_either_of_two_keys_is_accepted_during_rotation() -> None:
    provider = MessageBird(["old-key-" + "x" * 32, KEY])
    await provider.verify(post(key="old-key-" + "x" * 32))
    await provider.verify(post(key=KEY))
    with pytest.raises(SignatureInvalid):
        await provider.verify(post(key="another-key-" + "y" * 32))


async def test_short_signing_key_works_without_warnings(recwarn: pytest.WarningsRecorder) -> None:
    with pytest.warns(jwt.InsecureKeyLengthWarning):  # only the test's own signing warns
        request = post(key="short")
    await MessageBird(["short"]).verify(request)
    assert not [w for w in recwarn.list if issubclass(w.category, jwt.InsecureKeyLengthWarning)]


async def test_tampered_body_is_refused() -> None:
    request = post()
    tampered = request.body.replace(b"Yes", b"No")
    with pytest.raises(SignatureInvalid, match="payload_hash"):
        await MessageBird([KEY]).verify(WebhookRequest("POST", URL, request.headers, tampered))


async def test_other_url_is_refused() -> None:
    request = post()
    moved = WebhookRequest("POST", URL + "?service=other", request.headers, request.body)
    with pytest.raises(SignatureInvalid, match="url_hash"):
        await MessageBird([KEY]).verify(moved)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -60}, "expired"),  # times relative to when the test runs (see below)
        ({"nbf": 600}, "not yet valid"),
        ({"iss": "Someone"}, "issuer"),
        ({"exp": None}, "exp"),
        ({"nbf": None}, "nbf"),
        ({"url_hash": None}, "url_hash"),
        ({"payload_hash": None}, "payload_hash"),
        ({"payload_hash": ["not", "a", "string"]}, "payload_hash"),
        ({"url_hash": "é" * 64}, "url_hash"),
    ],
)
async def test_bad_claims_are_refused(claims: dict[str, Any], reason: str) -> None:
    # Made absolute now, not at collection: the suite runs longer than the 10 minutes' margin.
    for claim in ("exp", "nbf"):
        if isinstance(claims.get(claim), int):
            claims = {**claims, claim: int(time.time()) + claims[claim]}
    with pytest.raises(SignatureInvalid, match=reason):
        await MessageBird([KEY]).verify(post(**claims))


async def test_payload_hash_without_a_body_is_refused() -> None:
    request = get()
    headers = {"messagebird-signature-jwt": token(request.url, b"", payload_hash="ab" * 32)}
    with pytest.raises(SignatureInvalid, match="payload_hash"):
        await MessageBird([KEY]).verify(WebhookRequest("GET", request.url, headers, b""))


async def test_unsigned_algorithm_none_is_refused() -> None:
    request = post()
    unsigned = jwt.encode(
        jwt.decode(
            request.headers["messagebird-signature-jwt"], options={"verify_signature": False}
        ),
        None,
        algorithm="none",
    )
    headers = {**request.headers, "messagebird-signature-jwt": unsigned}
    with pytest.raises(SignatureInvalid):
        await MessageBird([KEY]).verify(WebhookRequest("POST", URL, headers, request.body))


@pytest.mark.parametrize("value", [None, ""])
async def test_missing_signature_is_401(value: str | None) -> None:
    headers = {"content-type": FORM}
    if value is not None:
        headers["messagebird-signature-jwt"] = value
    with pytest.raises(SignatureMissing):
        await MessageBird([KEY]).verify(WebhookRequest("POST", URL, headers, b"id=1"))


@pytest.mark.parametrize("value", ["not a jwt", "a.b", "\udc80.x.y", "é.é.é"])
async def test_garbage_signature_is_403(value: str) -> None:
    headers = {"content-type": FORM, "messagebird-signature-jwt": value}
    with pytest.raises(SignatureInvalid):
        await MessageBird([KEY]).verify(WebhookRequest("POST", URL, headers, b"id=1"))


@pytest.mark.parametrize("field", ["id", "originator", "recipient"])
def test_missing_field_is_422_naming_it(field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        MessageBird([KEY]).parse(post([(k, v) for k, v in FIELDS if k != field]))
    assert caught.value.field == field


@pytest.mark.parametrize("value", ["yesterday", "2026-11-28T09:15:00"])
def test_bad_created_time_is_422(value: str) -> None:
    fields = [(k, value if k == "createdDatetime" else v) for k, v in FIELDS]
    with pytest.raises(PayloadInvalid) as caught:
        MessageBird([KEY]).parse(post(fields))
    assert caught.value.field == "createdDatetime"


def test_alphanumeric_originator_is_kept() -> None:
    fields = [(k, "NHSAPP" if k == "originator" else v) for k, v in FIELDS]
    [message] = MessageBird([KEY]).parse(post(fields))
    assert message.sender == "NHSAPP"


def test_json_post_is_415() -> None:
    request = post()
    headers = {**request.headers, "content-type": "application/json"}
    with pytest.raises(UnsupportedMediaType):
        MessageBird([KEY]).parse(WebhookRequest("POST", URL, headers, request.body))


JWT_VALUES = st.one_of(
    st.just(token(URL, b"id=1")),
    st.builds(
        lambda extra: token(URL, b"id=1", **extra),
        st.dictionaries(
            st.sampled_from(["exp", "nbf", "url_hash", "payload_hash", "jti"]),
            st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=2),
            max_size=3,
        ),
    ),
)


@settings(max_examples=300)
@given(
    request=requests(
        {"messagebird-signature-jwt": JWT_VALUES}, bodies(form=FIELDS), ("GET", "POST")
    )
)
def test_any_request_gives_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(MessageBird([KEY, "second-key-" + "z" * 32]), request)
