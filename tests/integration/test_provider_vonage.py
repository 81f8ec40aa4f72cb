"""Vonage SMS API and Messages API webhooks against the running stack, both databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import MessagePart
from tests.integration.conftest import Answer, Stack, start_stack
from tests.integration.provider_support import nothing_stored
from tests.support.waiting import eventually

SECRETS = ("vonage-secret-old", "vonage-secret-new")
API_KEY = "abcd1234"


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """The stack with Vonage enabled: two signature secrets (a rotation), SHA-256 HMAC."""
    update = {
        "vonage_signature_secret": SecretStr(",".join(SECRETS)),
        "vonage_signature_method": "sha256",
        "vonage_api_key": API_KEY,
    }
    async for started in start_stack(settings.model_copy(update=update)):
        yield started


def sig(params: dict[str, str], secret: str) -> str:
    """Vonage's scheme: HMAC over `&name=value` pairs sorted by name, `&`/`=` in values as `_`."""
    text = "".join(
        f"&{name}={params[name].replace('&', '_').replace('=', '_')}" for name in sorted(params)
    )
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def inbound(text: str = "yes", **fields: str) -> dict[str, str]:
    params = {
        "msisdn": "447700900123",
        "to": "447700900000",
        "messageId": uuid.uuid4().hex[:16].upper(),
        "text": text,
        "type": "text",
        "keyword": text.split()[0].upper() if text else "",
        "api-key": API_KEY,
        "message-timestamp": "2026-11-28 09:15:00",
        "timestamp": str(int(time.time())),
        "nonce": str(uuid.uuid4()),
    }
    params.update(fields)
    return params


async def send(
    stack: Stack,
    params: dict[str, str],
    transport: str = "form",
    secret: str | None = SECRETS[0],
) -> Answer:
    signed = dict(params)
    if secret is not None:
        signed["sig"] = sig(params, secret)
    if transport == "get":
        query = urllib.parse.urlencode(signed)
        return await stack.request("GET", f"/webhooks/vonage?{query}", b"", {})
    if transport == "json":
        body = json.dumps(signed).encode()
        return await stack.request(
            "POST", "/webhooks/vonage", body, {"Content-Type": "application/json"}
        )
    body = urllib.parse.urlencode(signed).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return await stack.request("POST", "/webhooks/vonage", body, headers)


@pytest.mark.parametrize("transport", ["get", "form", "json"])
async def test_signed_webhook_is_stored_with_normalised_fields(
    stack: Stack, transport: str
) -> None:
    params = inbound("Yes please")
    answer = await send(stack, params, transport)
    assert answer.status == 200
    stored = await stack.processed(params["messageId"])
    assert (stored.provider, stored.sender, stored.recipient) == (
        "vonage",
        "+447700900123",
        "+447700900000",
    )
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    assert stored.service_id == "appointments"
    assert stored.text == "Yes please"


async def test_the_same_webhook_twice_is_stored_once(stack: Stack) -> None:
    params = inbound("yes")
    answers = [await send(stack, params) for _ in range(2)]
    assert [answer.status for answer in answers] == [200, 200]
    await stack.processed(params["messageId"])
    await nothing_stored(stack, expected=1)


async def test_second_secret_of_a_rotation_is_accepted(stack: Stack) -> None:
    params = inbound("yes")
    assert (await send(stack, params, secret=SECRETS[1])).status == 200
    await stack.processed(params["messageId"])


@pytest.mark.parametrize(
    ("tamper", "status", "field"),
    [
        ("tampered-text", 403, "sig"),
        ("wrong-secret", 403, "sig"),
        ("stale-timestamp", 403, "timestamp"),
        ("missing-sig", 401, "sig"),
        ("other-api-key", 403, "api-key"),
    ],
)
async def test_bad_webhook_is_refused_and_nothing_stored(
    stack: Stack, tamper: str, status: int, field: str
) -> None:
    params = inbound("yes")
    secret: str | None = SECRETS[0]
    if tamper == "tampered-text":
        signed = {**params, "sig": sig(params, SECRETS[0]), "text": "cancel"}
        body = urllib.parse.urlencode(signed).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = await stack.request("POST", "/webhooks/vonage", body, headers)
    else:
        if tamper == "wrong-secret":
            secret = "not-the-secret"
        elif tamper == "stale-timestamp":
            params["timestamp"] = str(int(time.time()) - 26 * 3600)
        elif tamper == "missing-sig":
            secret = None
        elif tamper == "other-api-key":
            params["api-key"] = "someone-else"
        answer = await send(stack, params, secret=secret)
    assert answer.status == status
    assert answer.json()["error"]["field"] == field
    await nothing_stored(stack)


async def test_multipart_message_is_accepted_part_by_part(stack: Stack) -> None:
    reference = uuid.uuid4().hex[:4]
    pieces = ["REPORT broken street", "light on Mill Lane nea", "r the school"]
    ids = []
    for number, piece in enumerate(pieces, start=1):
        params = inbound(
            piece,
            concat="true",
            **{"concat-ref": reference, "concat-total": "3", "concat-part": str(number)},
        )
        ids.append(params["messageId"])
        assert (await send(stack, params)).status == 200
    # Each part was published and reached the worker, under its own messageId.
    stored = await eventually(lambda: _part_ids(stack), lambda found: found == set(ids))
    assert stored == set(ids)


async def _part_ids(stack: Stack) -> set[str]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(MessagePart.provider_message_id).where(MessagePart.provider == "vonage")
        )
        return set(rows)


# --- Messages API ---


def jwt_for(body: bytes, secret: str = SECRETS[0], **claims: Any) -> str:
    """An HS256 JWS written out by hand, as Vonage signs Messages API webhooks."""

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": API_KEY,
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        **claims,
    }
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{head}.{b64url(json.dumps(payload).encode())}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(digest)}"


def messages_inbound(text: str = "yes") -> dict[str, Any]:
    return {
        "channel": "sms",
        "message_uuid": str(uuid.uuid4()),
        "to": "447700900000",
        "from": "447700900123",
        "timestamp": "2026-11-28T09:15:00Z",
        "text": text,
        "sms": {"num_messages": "1"},
        "message_type": "text",
    }


async def post_messages(stack: Stack, body: bytes, authorization: str | None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return await stack.request("POST", "/webhooks/vonage-messages", body, headers)


@pytest.mark.parametrize("secret", SECRETS)
async def test_messages_api_webhook_is_stored_once(stack: Stack, secret: str) -> None:
    payload = messages_inbound("Yes please")
    body = json.dumps(payload).encode()
    for _ in range(2):
        answer = await post_messages(stack, body, f"Bearer {jwt_for(body, secret)}")
        assert answer.status == 200
    stored = await stack.processed(payload["message_uuid"])
    assert (stored.provider, stored.sender, stored.recipient) == (
        "vonage-messages",
        "+447700900123",
        "+447700900000",
    )
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    await nothing_stored(stack, expected=1)


@pytest.mark.parametrize(
    ("tamper", "status"),
    [("tampered-body", 403), ("wrong-secret", 403), ("stale-iat", 403), ("missing", 503)],
)
async def test_bad_messages_api_webhook_is_refused_and_nothing_stored(
    stack: Stack, tamper: str, status: int
) -> None:
    body = json.dumps(messages_inbound("yes")).encode()
    authorization: str | None = f"Bearer {jwt_for(body)}"
    if tamper == "tampered-body":
        body = body.replace(b'"yes"', b'"no"')
    elif tamper == "wrong-secret":
        authorization = f"Bearer {jwt_for(body, 'not-the-secret')}"
    elif tamper == "stale-iat":
        authorization = f"Bearer {jwt_for(body, iat=int(time.time()) - 26 * 3600)}"
    elif tamper == "missing":
        authorization = None  # Vonage documents a retry on 5xx for a rare unsigned callback
    answer = await post_messages(stack, body, authorization)
    assert answer.status == status
    assert answer.json()["error"]["code"].startswith("signature")
    await nothing_stored(stack)
