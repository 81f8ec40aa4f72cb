"""Bandwidth Messaging v2 callbacks: arrays of events, only inbound messages published."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from pydantic import SecretStr

from inbound.providers.bandwidth import Bandwidth
from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.basic_auth import CredentialsMissing, basic_auth
from tests.unit.providers.arbitrary import basic_headers, bodies, only_webhook_errors, requests


def received(message_id: str, text: str, to: str = "+447700900000") -> dict[str, Any]:
    return {
        "type": "message-received",
        "time": "2026-11-28T09:15:01.000Z",
        "description": "Incoming message received",
        "to": to,
        "message": {
            "id": message_id,
            "owner": to,
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "time": "2026-11-28T09:15:00.000Z",
            "segmentCount": 1,
            "direction": "in",
            "to": [to],
            "from": "+447700900123",
            "text": text,
        },
    }


DELIVERED = {
    "type": "message-delivered",
    "time": "2026-11-28T09:15:02Z",
    "description": "ok",
    "to": "+447700900123",
    "message": {"id": "out-1", "direction": "out", "from": "+447700900000", "text": "hi"},
}
EVENTS = [received("1661365814859loooqtkmr7dfxwml", "YES"), DELIVERED, received("2", "cancel")]


def request(events: Any = EVENTS, credentials: bytes = b"bw:pw") -> WebhookRequest:
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "authorization": "Basic " + base64.b64encode(credentials).decode(),
    }
    return WebhookRequest("POST", "https://sms.example.gov.uk/webhooks/bandwidth", headers, body)


def bandwidth(setting: str = "bw:pw") -> Bandwidth:
    checker = basic_auth(SecretStr(setting), "X")
    assert checker is not None
    return Bandwidth(checker)


async def test_inbound_events_become_messages_and_others_are_skipped() -> None:
    provider = bandwidth()
    await provider.verify(request())
    first, second = provider.parse(request())
    assert first.provider_message_id == "1661365814859loooqtkmr7dfxwml"
    assert (first.sender, first.recipient, first.text) == ("+447700900123", "+447700900000", "YES")
    assert first.received_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    assert second.text == "cancel"


def test_only_status_events_is_no_messages() -> None:
    assert bandwidth().parse(request([DELIVERED])) == []


def test_received_but_outbound_direction_is_skipped() -> None:
    event = received("3", "x")
    event["message"]["direction"] = "out"
    assert bandwidth().parse(request([event])) == []


def test_group_message_recipient_is_the_event_to() -> None:
    event = received("4", "x", to="+447700900000")
    event["message"]["to"] = ["+447700900555", "+447700900000"]
    [message] = bandwidth().parse(request([event]))
    assert message.recipient == "+447700900000"


def test_without_event_to_the_message_to_is_used() -> None:
    event = received("5", "x")
    del event["to"]
    [message] = bandwidth().parse(request([event]))
    assert message.recipient == "+447700900000"


def test_media_only_message_has_empty_text() -> None:
    event = received("6", "x")
    del event["message"]["text"]
    event["message"]["media"] = ["https://messaging.bandwidth.com/media/x.jpg"]
    [message] = bandwidth().parse(request([event]))
    assert message.text == ""


async def test_two_credential_pairs_during_rotation() -> None:
    provider = bandwidth("old:pw-1, new:pw-2")
    await provider.verify(request(credentials=b"old:pw-1"))
    await provider.verify(request(credentials=b"new:pw-2"))
    with pytest.raises(SignatureInvalid):
        await provider.verify(request(credentials=b"old:pw-2"))


async def test_missing_credentials_are_401_with_a_basic_challenge() -> None:
    plain = request()
    headers = {"content-type": "application/json"}
    with pytest.raises(CredentialsMissing) as caught:
        await bandwidth().verify(WebhookRequest("POST", plain.url, headers, plain.body))
    assert caught.value.headers["WWW-Authenticate"] == 'Basic realm="inbound"'


def _broken(change: Any) -> list[Any]:
    events = copy.deepcopy(EVENTS)
    change(events)
    return events


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([1], "[0]"),
        ([{"message": {}}], "[0].type"),
        ([{"type": "message-received"}], "[0].message"),
        (_broken(lambda e: e[2]["message"].pop("id")), "[2].message.id"),
        (_broken(lambda e: e[0]["message"].pop("from")), "[0].message.from"),
        (_broken(lambda e: e[0]["message"].pop("direction")), "[0].message.direction"),
        (_broken(lambda e: e[0]["message"].update(time="9am")), "[0].message.time"),
        (_broken(lambda e: (e[0].pop("to"), e[0]["message"].pop("to"))), "[0].message.to"),
    ],
)
def test_bad_event_is_422_naming_it(events: list[Any], field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        bandwidth().parse(request(events))
    assert caught.value.field == field


@pytest.mark.parametrize("body", [b"", b"{}", b"[", b"\xff"])
def test_body_that_is_not_an_array_is_400(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        bandwidth().parse(request(body))


def test_form_body_is_415() -> None:
    plain = request()
    headers = {**plain.headers, "content-type": "application/x-www-form-urlencoded"}
    with pytest.raises(UnsupportedMediaType):
        bandwidth().parse(WebhookRequest("POST", plain.url, headers, plain.body))


@settings(max_examples=300)
@given(request=requests({"authorization": basic_headers()}, bodies(EVENTS)))
def test_any_request_gives_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(bandwidth(), request)
