"""Plivo incoming-message webhooks, signed in the test from Plivo's documented V2 scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

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
from inbound.providers.plivo import Plivo
from tests.unit.providers.arbitrary import bodies, only_webhook_errors, requests

TOKEN = "plivo-auth-token"
URL = "https://sms.example.gov.uk/webhooks/plivo"
NONCE = "05429567804466091622"
FIELDS = [
    ("From", "447700900123"),
    ("To", "447700900000"),
    ("Text", "Yes & thanks = great"),
    ("Type", "sms"),
    ("MessageUUID", "2a3d6a5c-1c2d-11ef-9c7c-0242ac110003"),
    ("Units", "1"),
    ("TotalRate", "0.00000"),
    ("TotalAmount", "0.00000"),
    ("MessageIntent", ""),
    ("PowerpackUUID", ""),
]


def signature(url: str, nonce: str = NONCE, token: str = TOKEN) -> str:
    """Plivo's V2: Base64(HMAC-SHA256(auth token, URL without its query + nonce))."""
    base = url.split("?", 1)[0]
    digest = hmac.new(token.encode(), (base + nonce).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed(
    fields: list[tuple[str, str]] = FIELDS,
    token: str = TOKEN,
    url: str = URL,
    method: str = "POST",
    header: str = "x-plivo-signature-v2",
) -> WebhookRequest:
    headers = {header: signature(url, token=token), "x-plivo-signature-v2-nonce": NONCE}
    if method == "GET":
        query = urllib.parse.urlencode(fields)
        return WebhookRequest("GET", f"{url}?{query}", headers, b"", list(fields))
    headers["content-type"] = "application/x-www-form-urlencoded"
    return WebhookRequest("POST", url, headers, urllib.parse.urlencode(fields).encode())


def plivo(*tokens: str) -> Plivo:
    return Plivo(tokens or (TOKEN,))


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_genuine_webhook_verifies_and_parses(method: str) -> None:
    request = signed(method=method)
    await plivo().verify(request)
    [message] = plivo().parse(request)
    assert message.provider_message_id == "2a3d6a5c-1c2d-11ef-9c7c-0242ac110003"
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes & thanks = great"


async def test_query_string_is_not_part_of_the_signed_url() -> None:
    url = URL + "?service=appointments"
    request = signed(url=url)
    assert request.url.endswith("?service=appointments")
    await plivo().verify(request)


async def test_signature_covers_the_path() -> None:
    request = signed()
    moved = WebhookRequest("POST", URL + "-other", request.headers, request.body)
    with pytest.raises(SignatureInvalid):
        await plivo().verify(moved)


async def test_signature_covers_the_nonce() -> None:
    request = signed()
    headers = {**request.headers, "x-plivo-signature-v2-nonce": "1" + NONCE}
    with pytest.raises(SignatureInvalid):
        await plivo().verify(WebhookRequest("POST", URL, headers, request.body))


async def test_either_of_two_tokens_is_accepted_during_rotation() -> None:
    provider = plivo("old-token", "new-token")
    await provider.verify(signed(token="old-token"))
    await provider.verify(signed(token="new-token"))
    with pytest.raises(SignatureInvalid):
        await provider.verify(signed(token="another"))


async def test_main_account_signature_is_accepted() -> None:
    await plivo("main-token").verify(signed(token="main-token", header="x-plivo-signature-ma-v2"))


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("x-plivo-signature-v2", "x-plivo-signature-v2"),
        ("x-plivo-signature-v2-nonce", "x-plivo-signature-v2-nonce"),
    ],
)
async def test_missing_header_is_401_naming_it(header: str, field: str) -> None:
    request = signed()
    headers = {k: v for k, v in request.headers.items() if k != header}
    with pytest.raises(SignatureMissing) as caught:
        await plivo().verify(WebhookRequest("POST", URL, headers, request.body))
    assert caught.value.field == field


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "\udcff"])
async def test_malformed_signature_is_refused(value: str) -> None:
    request = signed()
    headers = {**request.headers, "x-plivo-signature-v2": value}
    with pytest.raises(SignatureInvalid):
        await plivo().verify(WebhookRequest("POST", URL, headers, request.body))


@pytest.mark.parametrize("field", ["MessageUUID", "From", "To"])
def test_missing_field_is_named(field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        plivo().parse(signed([(k, v) for k, v in FIELDS if k != field]))
    assert caught.value.field == field


def test_mms_keeps_its_text() -> None:
    fields = [(k, v) for k, v in FIELDS if k not in {"Text", "Type"}]
    [message] = plivo().parse(signed([*fields, ("Type", "mms"), ("Body", "photo attached")]))
    assert message.text == "photo attached"


def test_other_message_types_are_named() -> None:
    fields = [(k, v) for k, v in FIELDS if k != "Type"]
    with pytest.raises(PayloadInvalid) as caught:
        plivo().parse(signed([*fields, ("Type", "whatsapp")]))
    assert caught.value.field == "Type"


@pytest.mark.parametrize("sender", ["GOVUK", "60123"])
def test_alphanumeric_senders_and_short_codes_are_kept(sender: str) -> None:
    fields = [(k, sender if k == "From" else v) for k, v in FIELDS]
    [message] = plivo().parse(signed(fields))
    assert message.sender == sender


def test_json_body_is_unsupported() -> None:
    request = signed()
    headers = {**request.headers, "content-type": "application/json"}
    with pytest.raises(UnsupportedMediaType):
        plivo().parse(WebhookRequest("POST", URL, headers, b"{}"))


def test_answer_is_an_empty_plivo_xml_response() -> None:
    reply = plivo().accepted([])
    assert (reply.status, reply.content_type) == (200, "application/xml")
    assert b"<Response></Response>" in reply.body


@settings(max_examples=300, deadline=None)
@given(
    requests(
        {
            "x-plivo-signature-v2": st.just(signature(URL)),
            "x-plivo-signature-v2-nonce": st.just(NONCE),
        },
        bodies(form=FIELDS),
        methods=("GET", "POST"),
    )
)
def test_any_request_raises_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(plivo(), request)
