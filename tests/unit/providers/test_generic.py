"""The generic JSON webhook: signature and parsing."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from inbound.providers.base import MalformedBody, PayloadInvalid, SignatureInvalid, WebhookRequest
from inbound.providers.generic import Generic


def request(body: bytes, secret: str = "s3cret") -> WebhookRequest:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json; charset=utf-8", "x-inbound-signature": signature}
    return WebhookRequest("POST", "http://x/webhooks/generic", headers, body)


async def test_parses_fields_and_time() -> None:
    body = json.dumps(
        {
            "id": "a1",
            "from": "+447700900123",
            "to": "+447700900000",
            "text": "Diolch 🙏",
            "received_at": "2026-11-28T10:00:00+01:00",
        }
    ).encode()
    generic = Generic(["s3cret"])
    await generic.verify(request(body))
    [message] = generic.parse(request(body))
    assert message.text == "Diolch 🙏"
    assert message.received_at == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_uppercase_hex_signature_is_accepted() -> None:
    body = b'{"id": "a1"}'
    signed = request(body)
    upper = signed.headers["x-inbound-signature"].replace("sha256=", "").upper()
    await Generic(["s3cret"]).verify(
        WebhookRequest(
            "POST", signed.url, {**signed.headers, "x-inbound-signature": "sha256=" + upper}, body
        )
    )


async def test_rotation_accepts_both_secrets() -> None:
    generic = Generic(["old", "new"])
    await generic.verify(request(b"{}", "old"))
    await generic.verify(request(b"{}", "new"))
    with pytest.raises(SignatureInvalid):
        await generic.verify(request(b"{}", "neither"))


async def test_naive_timestamp_is_refused() -> None:
    body = b'{"id": "a1", "from": "1", "to": "2", "text": "", "received_at": "2026-11-28T10:00:00"}'
    with pytest.raises(PayloadInvalid) as caught:
        Generic(["s3cret"]).parse(request(body))
    assert caught.value.field == "received_at"


@pytest.mark.parametrize("body", [b"", b"null", b'"text"', b"{", b"\xc3\x28"])
async def test_undecodable_bodies(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        Generic(["s3cret"]).parse(request(body))
