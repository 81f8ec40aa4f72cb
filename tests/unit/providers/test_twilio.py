"""Twilio signature check and parsing, with requests signed from Twilio's documented scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest

from inbound.providers.base import (
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.twilio import Twilio

URL = "https://sms.example.gov.uk/webhooks/twilio?service=appointments"
SID = "SM" + "a" * 32
ACCOUNT = "AC" + "b" * 32
PARAMS = [
    ("MessageSid", SID),
    ("AccountSid", ACCOUNT),
    ("From", "+447700900123"),
    ("To", "+447700900000"),
    ("Body", "Yes & thanks = great"),
    ("NumMedia", "0"),
]


def signed(params: list[tuple[str, str]], token: str = "token-1", url: str = URL) -> WebhookRequest:
    payload = url + "".join(name + value for name, value in sorted(params))
    signature = base64.b64encode(
        hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()
    return WebhookRequest(
        method="POST",
        url=url,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
        body=urllib.parse.urlencode(params).encode(),
    )


async def test_genuine_request_verifies_and_parses() -> None:
    twilio = Twilio(["token-1"], ACCOUNT)
    request = signed(PARAMS)
    await twilio.verify(request)
    [message] = twilio.parse(request)
    assert message.provider_message_id == SID
    assert (message.sender, message.recipient) == ("+447700900123", "+447700900000")
    assert message.text == "Yes & thanks = great"


async def test_either_of_two_tokens_is_accepted_during_rotation() -> None:
    twilio = Twilio(["old-token", "new-token"])
    await twilio.verify(signed(PARAMS, token="old-token"))
    await twilio.verify(signed(PARAMS, token="new-token"))
    with pytest.raises(SignatureInvalid):
        await twilio.verify(signed(PARAMS, token="another"))


async def test_repeated_parameters_all_count() -> None:
    params = [*PARAMS, ("MediaUrl0", "https://a"), ("MediaUrl0", "https://b")]
    await Twilio(["token-1"]).verify(signed(params))


async def test_signature_covers_the_url_including_query() -> None:
    request = signed(PARAMS)
    moved = WebhookRequest(
        "POST", URL.replace("appointments", "other"), request.headers, request.body
    )
    with pytest.raises(SignatureInvalid):
        await Twilio(["token-1"]).verify(moved)


async def test_missing_signature_is_401_error() -> None:
    request = signed(PARAMS)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    with pytest.raises(SignatureMissing):
        await Twilio(["token-1"]).verify(WebhookRequest("POST", URL, headers, request.body))


async def test_other_account_is_refused() -> None:
    with pytest.raises(SignatureInvalid, match="AccountSid"):
        await Twilio(["token-1"], "AC" + "c" * 32).verify(signed(PARAMS))


async def test_json_body_is_unsupported() -> None:
    request = signed(PARAMS)
    headers = {**request.headers, "content-type": "application/json"}
    with pytest.raises(UnsupportedMediaType):
        await Twilio(["token-1"]).verify(WebhookRequest("POST", URL, headers, request.body))


@pytest.mark.parametrize("field", ["MessageSid", "From", "To"])
async def test_missing_field_is_named(field: str) -> None:
    request = signed([(k, v) for k, v in PARAMS if k != field])
    with pytest.raises(PayloadInvalid) as caught:
        Twilio(["token-1"]).parse(request)
    assert caught.value.field == field


async def test_empty_body_field_is_an_empty_message() -> None:
    request = signed([(k, v) for k, v in PARAMS if k != "Body"])
    [message] = Twilio(["token-1"]).parse(request)
    assert message.text == ""
