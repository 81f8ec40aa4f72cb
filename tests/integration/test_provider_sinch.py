"""Sinch MO callbacks through the running receiver, RabbitMQ, worker and database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from inbound.config import Settings
from tests.integration.conftest import Answer, Stack
from tests.integration.provider_support import basic, nothing_stored, stack_with

SECRETS = "sinch-old-secret,sinch-new-secret"


@pytest.fixture
async def sinch(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, sinch_webhook_secret=SECRETS):
        yield stack


def mo(text: str = "YES") -> dict[str, Any]:
    return {
        "type": "mo_text",
        "id": f"01{uuid.uuid4().hex[:24].upper()}",
        "from": "447700900123",  # Sinch sends MSISDNs without "+"
        "to": "447700900000",
        "body": text,
        "received_at": "2026-11-28T10:15:00.000+01:00",
    }


async def post(
    stack: Stack,
    payload: dict[str, Any] | bytes,
    secret: str = "sinch-new-secret",
    timestamp: int | None = None,
    signed_body: bytes | None = None,
    drop: str | None = None,
) -> Answer:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex
    message = (signed_body or body) + b"." + nonce.encode() + b"." + stamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    headers = {
        "Content-Type": "application/json",
        "x-sinch-webhook-signature": signature.decode(),
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": stamp,
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
    }
    headers.pop(drop or "", None)
    return await stack.request("POST", "/webhooks/sinch", body, headers)


async def test_signed_callback_is_stored_normalised(sinch: Stack) -> None:
    payload = mo("YES")
    answer = await post(sinch, payload)
    assert answer.status == 200
    stored = await sinch.processed(payload["id"])
    assert (stored.provider, stored.sender, stored.recipient) == (
        "sinch",
        "+447700900123",
        "+447700900000",
    )
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    assert (stored.text, stored.status) == ("YES", "processed")


async def test_the_same_callback_twice_is_stored_once(sinch: Stack) -> None:
    payload = mo("yes")
    assert [(await post(sinch, payload)).status for _ in range(2)] == [200, 200]
    await sinch.processed(payload["id"])
    await nothing_stored(sinch, expected=1)


async def test_either_secret_works_during_rotation(sinch: Stack) -> None:
    old, new = mo(), mo()
    assert (await post(sinch, old, secret="sinch-old-secret")).status == 200
    assert (await post(sinch, new, secret="sinch-new-secret")).status == 200
    await sinch.processed(old["id"])
    await sinch.processed(new["id"])


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ("tampered-body", 403),
        ("wrong-secret", 403),
        ("stale-timestamp", 403),
        ("missing-signature", 401),
        ("missing-nonce", 401),
    ],
)
async def test_bad_signature_is_refused_and_nothing_stored(
    sinch: Stack, how: str, status: int
) -> None:
    payload = mo("YES")
    if how == "tampered-body":
        original = json.dumps(payload).encode()
        answer = await post(sinch, {**payload, "body": "NO"}, signed_body=original)
    elif how == "wrong-secret":
        answer = await post(sinch, payload, secret="not-the-secret")
    elif how == "stale-timestamp":
        answer = await post(sinch, payload, timestamp=int(time.time()) - 25 * 3600)
    elif how == "missing-signature":
        answer = await post(sinch, payload, drop="x-sinch-webhook-signature")
    else:
        answer = await post(sinch, payload, drop="x-sinch-webhook-signature-nonce")
    # Sinch treats every 4xx but 429 as final: these must be surely-not-genuine refusals.
    assert answer.status == status
    assert answer.json()["error"]["code"].startswith("signature")
    await nothing_stored(sinch)


async def test_missing_field_is_422_and_nothing_stored(sinch: Stack) -> None:
    payload = {k: v for k, v in mo().items() if k != "from"}
    answer = await post(sinch, payload)
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "from"
    await nothing_stored(sinch)


@pytest.fixture
async def sinch_basic(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, sinch_basic_auth="sinch:pw-1,sinch2:pw-2"):
        yield stack


async def test_basic_auth_only_configuration(sinch_basic: Stack) -> None:
    payload = mo("YES")
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    refused = await sinch_basic.request(
        "POST", "/webhooks/sinch", body, {**headers, "Authorization": basic("sinch", "wrong")}
    )
    assert refused.status == 403
    answer = await sinch_basic.request(
        "POST", "/webhooks/sinch", body, {**headers, "Authorization": basic("sinch2", "pw-2")}
    )
    assert answer.status == 200
    await sinch_basic.processed(payload["id"])
