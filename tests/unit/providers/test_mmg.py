"""MMG inbound JSON as GOV.UK Notify receives it: URL-encoded values, times in UTC."""

from __future__ import annotations

import base64
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
    WebhookRequest,
)
from inbound.providers.basic_auth import basic_auth
from inbound.providers.mmg import Mmg, decode_message
from tests.unit.providers.arbitrary import (
    ANY_TEXT,
    basic_headers,
    bodies,
    only_webhook_errors,
    requests,
)

PAYLOAD = {
    "MSISDN": "447700900123",
    "Number": "447700900000",
    "Message": "Yes+please%2C+Tuesday+%F0%9F%91%8D",
    "ID": "SOME-MMG-SPECIFIC-ID",
    "DateRecieved": "2026-07-21+11%3A56%3A11",
    "Trigger": "Trigger?",
    "Channel": "SMS",
}


def request(payload: Any = PAYLOAD, credentials: bytes | None = b"notify:pw") -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    if credentials is not None:
        headers["authorization"] = "Basic " + base64.b64encode(credentials).decode()
    return WebhookRequest("POST", "https://sms.example.gov.uk/webhooks/mmg", headers, body)


def mmg(setting: str = "notify:pw") -> Mmg:
    checker = basic_auth(SecretStr(setting), "X")
    assert checker is not None
    return Mmg(checker)


async def test_genuine_message_is_decoded_and_timed_in_utc() -> None:
    provider = mmg()
    await provider.verify(request())
    [message] = provider.parse(request())
    assert message.provider_message_id == "SOME-MMG-SPECIFIC-ID"
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes please, Tuesday 👍"
    # UTC as sent, in summer too: GOV.UK Notify takes no hour off since 2020 (b8283c31).
    assert message.received_at == datetime(2026, 7, 21, 11, 56, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2026-01-21+11%3A56%3A11", datetime(2026, 1, 21, 11, 56, 11, tzinfo=UTC)),  # winter
        ("2026-07-21+11%3A56%3A11", datetime(2026, 7, 21, 11, 56, 11, tzinfo=UTC)),  # summer
        ("2026-03-29+01%3A30%3A00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # no such UK time
        ("2026-07-21 11:56:11", datetime(2026, 7, 21, 11, 56, 11, tzinfo=UTC)),  # not encoded
        ("2017-01-02  12:33:00", datetime(2017, 1, 2, 12, 33, tzinfo=UTC)),  # doubled space
        ("2026-07-21T11:56:11Z", datetime(2026, 7, 21, 11, 56, 11, tzinfo=UTC)),  # explicit
    ],
)
def test_date_received_is_utc_all_year(raw: str, utc: datetime) -> None:
    [message] = mmg().parse(request({**PAYLOAD, "DateRecieved": raw}))
    assert message.received_at == utc


def test_missing_date_is_left_for_the_receiver_to_stamp() -> None:
    payload = {k: v for k, v in PAYLOAD.items() if k != "DateRecieved"}
    [message] = mmg().parse(request(payload))
    assert message.received_at is None


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("some+uri+encoded+message%3A", "some uri encoded message:"),
        ("Yes please", "Yes please"),  # a literal space: not encoded, kept as is
        ("50% off", "50% off"),
        ("100%", "100%"),  # a stray % can't be from an encoder
        ("%FF%FE", "%FF%FE"),  # escapes that aren't UTF-8: kept rather than garbled
        ("caf%C3%A9", "café"),
        ("YES", "YES"),
        ("", ""),
    ],
)
def test_message_is_url_decoded_only_when_encoded(raw: str, text: str) -> None:
    assert decode_message(raw) == text


@given(text=st.tuples(ANY_TEXT, ANY_TEXT).map(" ".join))
def test_message_with_a_space_is_never_altered(text: str) -> None:
    assert decode_message(text) == text


@given(text=st.text(min_size=1).filter(lambda t: t.strip()))
def test_plus_encoded_utf8_round_trips(text: str) -> None:
    from urllib.parse import quote_plus

    assert decode_message(quote_plus(text)) == text


async def test_two_credential_pairs_during_rotation() -> None:
    provider = mmg("old:pw-1,new:pw-2")
    await provider.verify(request(credentials=b"old:pw-1"))
    await provider.verify(request(credentials=b"new:pw-2"))


@pytest.mark.parametrize(
    ("credentials", "error"),
    [(None, SignatureMissing), (b"notify:wrong", SignatureInvalid), (b"x:pw", SignatureInvalid)],
)
async def test_bad_credentials_are_refused(credentials: bytes | None, error: type) -> None:
    with pytest.raises(error):
        await mmg().verify(request(credentials=credentials))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ID": None}, "ID"),
        ({"MSISDN": ""}, "MSISDN"),
        ({"Number": 447700900000}, "Number"),
        ({"Message": None}, "Message"),
        ({"DateRecieved": "21/07/2026"}, "DateRecieved"),
    ],
)
def test_bad_field_is_422_naming_it(change: dict[str, Any], field: str) -> None:
    payload = {k: v for k, v in {**PAYLOAD, **change}.items() if v is not None}
    with pytest.raises(PayloadInvalid) as caught:
        mmg().parse(request(payload))
    assert caught.value.field == field


def test_message_decoding_to_nul_is_400() -> None:
    with pytest.raises(MalformedBody) as caught:
        mmg().parse(request({**PAYLOAD, "Message": "%00"}))
    assert caught.value.field == "Message"


def test_alphanumeric_sender_is_kept() -> None:
    [message] = mmg().parse(request({**PAYLOAD, "MSISDN": "ALPHANUM3R1C"}))
    assert message.sender == "ALPHANUM3R1C"


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b"\xff"])
def test_undecodable_body_is_400(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        mmg().parse(request(body))


@settings(max_examples=300)
@given(request=requests({"authorization": basic_headers()}, bodies(PAYLOAD)))
def test_any_request_gives_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(mmg(), request)
