"""Firetext inbound forms as GOV.UK Notify receives them: no id, so a derived dedupe key."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from inbound.providers.base import (
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.basic_auth import basic_auth
from inbound.providers.firetext import Firetext
from tests.unit.providers.arbitrary import basic_headers, bodies, only_webhook_errors, requests

FIELDS = [
    ("source", "447700900123"),
    ("destination", "447700900000"),
    ("message", "Yes & thanks = great 👍"),
    ("time", "2026-07-21 12:00:00"),
]


def request(
    fields: list[tuple[str, str]] = FIELDS, credentials: bytes | None = b"notify:pw"
) -> WebhookRequest:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if credentials is not None:
        headers["authorization"] = "Basic " + base64.b64encode(credentials).decode()
    body = urllib.parse.urlencode(fields).encode()
    return WebhookRequest("POST", "https://sms.example.gov.uk/webhooks/firetext", headers, body)


def firetext(setting: str = "notify:pw") -> Firetext:
    checker = basic_auth(SecretStr(setting), "X")
    assert checker is not None
    return Firetext(checker)


def expected_id(source: str, destination: str, time: str, message: str) -> str:
    identity = json.dumps([source, destination, time, message], ensure_ascii=False)
    return "ft-" + hashlib.sha256(identity.encode()).hexdigest()


async def test_genuine_message_parses_with_a_derived_id() -> None:
    provider = firetext()
    await provider.verify(request())
    [message] = provider.parse(request())
    assert message.provider_message_id == expected_id(
        *(value for _, value in FIELDS[:2]), FIELDS[3][1], FIELDS[2][1]
    )
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes & thanks = great 👍"
    assert message.received_at == datetime(2026, 7, 21, 12, 0, tzinfo=UTC)  # UTC in summer too


def test_same_message_twice_has_the_same_id() -> None:
    [first] = firetext().parse(request())
    [again] = firetext().parse(request(list(reversed(FIELDS))))
    assert first.provider_message_id == again.provider_message_id


@pytest.mark.parametrize("field", ["source", "destination", "message", "time"])
def test_any_identifying_field_changes_the_id(field: str) -> None:
    [first] = firetext().parse(request())
    changed = [(k, v + "0" if k == field and k != "time" else v) for k, v in FIELDS]
    if field == "time":
        changed = [(k, "2026-07-21 12:00:01" if k == "time" else v) for k, v in FIELDS]
    [second] = firetext().parse(request(changed))
    assert first.provider_message_id != second.provider_message_id


@given(
    a=st.lists(st.text(max_size=5), min_size=4, max_size=4),
    b=st.lists(st.text(max_size=5), min_size=4, max_size=4),
)
def test_ids_differ_whenever_the_fields_differ(a: list[str], b: list[str]) -> None:
    from inbound.providers.firetext import dedupe_id

    assert (dedupe_id(*a) == dedupe_id(*b)) == (a == b)


def test_winter_time_is_utc_too() -> None:
    [message] = firetext().parse(
        request([(k, "2026-01-21 12:00:00" if k == "time" else v) for k, v in FIELDS])
    )
    assert message.received_at == datetime(2026, 1, 21, 12, 0, tzinfo=UTC)


def test_empty_message_is_kept() -> None:
    [message] = firetext().parse(request([(k, "" if k == "message" else v) for k, v in FIELDS]))
    assert message.text == ""


async def test_two_credential_pairs_during_rotation() -> None:
    provider = firetext("old:pw-1,new:pw-2")
    await provider.verify(request(credentials=b"old:pw-1"))
    await provider.verify(request(credentials=b"new:pw-2"))


@pytest.mark.parametrize(
    ("credentials", "error"),
    [(None, SignatureMissing), (b"notify:wrong", SignatureInvalid)],
)
async def test_bad_credentials_are_refused(credentials: bytes | None, error: type) -> None:
    with pytest.raises(error):
        await firetext().verify(request(credentials=credentials))


@pytest.mark.parametrize("field", ["source", "destination", "message", "time"])
def test_missing_field_is_422_naming_it(field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        firetext().parse(request([(k, v) for k, v in FIELDS if k != field]))
    assert caught.value.field == field


def test_bad_time_is_422() -> None:
    with pytest.raises(PayloadInvalid) as caught:
        firetext().parse(request([(k, "noon" if k == "time" else v) for k, v in FIELDS]))
    assert caught.value.field == "time"


def test_json_body_is_415() -> None:
    plain = request()
    headers = {**plain.headers, "content-type": "application/json"}
    with pytest.raises(UnsupportedMediaType):
        firetext().parse(WebhookRequest("POST", plain.url, headers, plain.body))


@settings(max_examples=300)
@given(request=requests({"authorization": basic_headers()}, bodies(form=FIELDS)))
def test_any_request_gives_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(firetext(), request)
