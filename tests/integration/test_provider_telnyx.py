"""Telnyx webhooks against the running stack, both databases, signed with generated keys."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from inbound.config import Settings
from tests.integration.conftest import Answer, Stack, start_stack
from tests.integration.provider_support import nothing_stored

OLD_KEY = Ed25519PrivateKey.generate()
NEW_KEY = Ed25519PrivateKey.generate()
PROFILE = "0f512bda-ae1e-4597-8e11-e5f5686b97d3"


def public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """The stack with Telnyx enabled: two public keys (a rotation) and a messaging profile."""
    update = {
        "telnyx_public_key": f"{public(OLD_KEY)},{public(NEW_KEY)}",
        "telnyx_messaging_profile_id": PROFILE,
    }
    async for started in start_stack(settings.model_copy(update=update)):
        yield started


def event(text: str = "yes", event_type: str = "message.received") -> dict[str, Any]:
    return {
        "data": {
            "record_type": "event",
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "occurred_at": "2026-11-28T09:15:00.574+00:00",
            "payload": {
                "record_type": "message",
                "direction": "inbound",
                "id": str(uuid.uuid4()),
                "type": "SMS",
                "messaging_profile_id": PROFILE,
                "from": {"phone_number": "+447700900123", "line_type": "Wireless"},
                "to": [{"phone_number": "+447700900000", "status": "webhook_delivered"}],
                "text": text,
                "media": [],
                "parts": 1,
                "received_at": "2026-11-28T10:15:00.123+01:00",
            },
        },
        "meta": {"attempt": 1},
    }


async def send(
    stack: Stack,
    body: bytes,
    key: Ed25519PrivateKey | None = OLD_KEY,
    timestamp: int | None = None,
) -> Answer:
    """Telnyx's scheme: Ed25519 over `timestamp|raw body`, base64 in a header."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": "application/json", "telnyx-timestamp": stamp}
    if key is not None:
        signature = key.sign(stamp.encode() + b"|" + body)
        headers["telnyx-signature-ed25519"] = base64.b64encode(signature).decode()
    return await stack.request("POST", "/webhooks/telnyx", body, headers)


@pytest.mark.parametrize("key", [OLD_KEY, NEW_KEY], ids=["old-key", "new-key"])
async def test_signed_event_is_stored_once_with_normalised_fields(
    stack: Stack, key: Ed25519PrivateKey
) -> None:
    payload = event("Yes please")
    body = json.dumps(payload).encode()
    for _ in range(2):
        assert (await send(stack, body, key)).status == 200
    stored = await stack.processed(payload["data"]["payload"]["id"])
    assert (stored.provider, stored.sender, stored.recipient) == (
        "telnyx",
        "+447700900123",
        "+447700900000",
    )
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00.123000+00:00"
    assert stored.text == "Yes please"
    await nothing_stored(stack, expected=1)


async def test_other_events_are_answered_and_publish_nothing(stack: Stack) -> None:
    body = json.dumps(event("yes", "message.finalized")).encode()
    assert (await send(stack, body)).status == 200
    await nothing_stored(stack)


@pytest.mark.parametrize(
    ("tamper", "status"),
    [("tampered-body", 403), ("wrong-key", 403), ("stale", 403), ("missing", 401)],
)
async def test_bad_signature_is_refused_and_nothing_stored(
    stack: Stack, tamper: str, status: int
) -> None:
    body = json.dumps(event("yes")).encode()
    if tamper == "tampered-body":
        stamp = int(time.time())
        signature = OLD_KEY.sign(str(stamp).encode() + b"|" + body)
        headers = {
            "Content-Type": "application/json",
            "telnyx-timestamp": str(stamp),
            "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        }
        answer = await stack.request(
            "POST", "/webhooks/telnyx", body.replace(b'"yes"', b'"no"'), headers
        )
    elif tamper == "wrong-key":
        answer = await send(stack, body, Ed25519PrivateKey.generate())
    elif tamper == "stale":
        answer = await send(stack, body, timestamp=int(time.time()) - 600)
    else:
        answer = await send(stack, body, key=None)
    assert answer.status == status
    assert answer.json()["error"]["code"].startswith("signature")
    await nothing_stored(stack)


async def test_other_messaging_profile_is_refused(stack: Stack) -> None:
    payload = event("yes")
    payload["data"]["payload"]["messaging_profile_id"] = "another-profile"
    answer = await send(stack, json.dumps(payload).encode())
    assert answer.status == 403
    await nothing_stored(stack)
