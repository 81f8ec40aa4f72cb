"""Infobip MO_JSON_2 forwards: several messages per request, Basic credentials or opt-out."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from pydantic import SecretStr

from inbound.config import Settings
from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.basic_auth import basic_auth
from inbound.providers.infobip import SPEC, Infobip
from tests.unit.providers.arbitrary import basic_headers, bodies, only_webhook_errors, requests


def result(message_id: str, text: str, sender: str = "447700900123") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "from": sender,
        "to": "447700900000",
        "text": text,
        "cleanText": text,
        "keyword": "",
        "receivedAt": "2026-11-28T10:15:00.000+0100",
        "smsCount": 1,
        "price": {"pricePerMessage": 0, "currency": "EUR"},
        "callbackData": "callbackData",
    }


PAYLOAD = {
    "results": [result("817790313235066447", "YES"), result("817790313235066448", "no", "INFO")],
    "messageCount": 2,
    "pendingMessageCount": 0,
}


def request(payload: Any = PAYLOAD, authorization: str | None = None) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    credentials = "Basic " + base64.b64encode(b"infobip:pw").decode()
    headers = {"content-type": "application/json", "authorization": authorization or credentials}
    return WebhookRequest("POST", "https://sms.example.gov.uk/webhooks/infobip", headers, body)


def infobip(setting: str = "infobip:pw") -> Infobip:
    return Infobip(basic_auth(SecretStr(setting), "X"))


async def test_every_message_in_results_is_returned() -> None:
    provider = infobip()
    await provider.verify(request())
    first, second = provider.parse(request())
    assert (first.provider_message_id, first.text) == ("817790313235066447", "YES")
    assert (second.provider_message_id, second.sender) == ("817790313235066448", "INFO")
    assert first.received_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)


def test_empty_results_is_no_messages() -> None:
    assert infobip().parse(request({"results": [], "messageCount": 0})) == []


async def test_two_credential_pairs_during_rotation() -> None:
    provider = infobip("old:pw-1,new:pw-2")
    for pair in (b"old:pw-1", b"new:pw-2"):
        await provider.verify(request(authorization="Basic " + base64.b64encode(pair).decode()))


async def test_wrong_credentials_are_403_and_missing_401() -> None:
    with pytest.raises(SignatureInvalid):
        await infobip().verify(request(authorization="Basic " + base64.b64encode(b"x:y").decode()))
    with pytest.raises(SignatureMissing):
        await infobip().verify(request(authorization="Bearer token"))


def test_unverified_only_by_explicit_opt_out() -> None:
    assert SPEC.build(Settings()) is None
    assert SPEC.build(Settings(unverified_providers=["infobip"])) is not None
    built = SPEC.build(Settings(infobip_basic_auth=SecretStr("a:b")))
    assert built is not None


async def test_unverified_infobip_accepts_without_credentials() -> None:
    provider = SPEC.build(Settings(unverified_providers=["infobip"]))
    assert provider is not None
    headers = {"content-type": "application/json"}
    await provider.verify(
        WebhookRequest("POST", "https://x", headers, json.dumps(PAYLOAD).encode())
    )


def _without(index: int, field: str) -> dict[str, Any]:
    payload = copy.deepcopy(PAYLOAD)
    del payload["results"][index][field]
    return payload


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"messageCount": 0}, "results"),
        ({"results": {"messageId": "1"}}, "results"),
        ({"results": ["text"]}, "results[0]"),
        (_without(1, "messageId"), "results[1].messageId"),
        (_without(0, "from"), "results[0].from"),
        (_without(1, "to"), "results[1].to"),
        (_without(0, "text"), "results[0].text"),
        ({"results": [{**result("1", "x"), "receivedAt": "noon"}]}, "results[0].receivedAt"),
        ({"results": [{**result("1", "x"), "messageId": 42}]}, "results[0].messageId"),
    ],
)
def test_bad_result_is_422_naming_it(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        infobip().parse(request(payload))
    assert caught.value.field == field


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b"\xfe"])
def test_undecodable_body_is_400(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        infobip().parse(request(body))


def test_form_body_is_415() -> None:
    plain = request()
    headers = {**plain.headers, "content-type": "text/plain"}
    with pytest.raises(UnsupportedMediaType):
        infobip().parse(WebhookRequest("POST", plain.url, headers, plain.body))


@settings(max_examples=300)
@given(request=requests({"authorization": basic_headers()}, bodies(PAYLOAD)))
def test_any_request_gives_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(infobip(), request)
    only_webhook_errors(Infobip(None), request)
