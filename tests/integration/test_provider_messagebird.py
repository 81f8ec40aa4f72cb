"""MessageBird forwards (POST form and GET query) through the running stack."""

from __future__ import annotations

import hashlib
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from inbound.config import Settings
from tests.integration.conftest import Answer, Stack
from tests.integration.provider_support import nothing_stored, stack_with

OLD_KEY = "messagebird-old-signing-key-0123456789"
NEW_KEY = "messagebird-new-signing-key-0123456789"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def messagebird(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, messagebird_signing_key=f"{OLD_KEY},{NEW_KEY}"):
        yield stack


def fields(text: str = "YES") -> list[tuple[str, str]]:
    return [
        ("id", uuid.uuid4().hex),
        ("recipient", "447700900000"),
        ("originator", "447700900123"),
        ("body", text),
        ("createdDatetime", "2026-11-28T10:15:00+01:00"),
    ]


def signature(url: str, body: bytes, key: str = NEW_KEY, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": "MessageBird",
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "url_hash": hashlib.sha256(url.encode()).hexdigest(),
    }
    if body:
        payload["payload_hash"] = hashlib.sha256(body).hexdigest()
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="HS256")


async def post(
    stack: Stack, params: list[tuple[str, str]], token: str | None = None, **claims: Any
) -> Answer:
    body = urllib.parse.urlencode(params).encode()
    url = stack.base_url + "/webhooks/messagebird"
    headers = {"Content-Type": FORM}
    jwt_value = token if token is not None else signature(url, body, **claims)
    if jwt_value:
        headers["MessageBird-Signature-JWT"] = jwt_value
    return await stack.request("POST", "/webhooks/messagebird", body, headers)


async def test_signed_form_post_is_stored_normalised(messagebird: Stack) -> None:
    params = fields("YES")
    answer = await post(messagebird, params)
    assert (answer.status, answer.text) == (200, "OK")
    stored = await messagebird.processed(params[0][1])
    assert (stored.provider, stored.sender, stored.recipient) == (
        "messagebird",
        "+447700900123",
        "+447700900000",
    )
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    assert stored.status == "processed"


async def get(stack: Stack, params: list[tuple[str, str]]) -> Answer:
    path = "/webhooks/messagebird?" + urllib.parse.urlencode(params)
    headers = {"MessageBird-Signature-JWT": signature(stack.base_url + path, b"")}
    return await stack.request("GET", path, b"", headers)


async def test_signed_get_is_stored(messagebird: Stack) -> None:
    params = [(k, v) for k, v in fields("cancel") if k != "createdDatetime"]
    answer = await get(messagebird, params)
    assert answer.status == 200
    stored = await messagebird.processed(params[0][1])
    assert stored.text == "cancel"


async def test_signed_get_with_percent_encoded_query_is_stored(messagebird: Stack) -> None:
    params = fields("cancel")
    assert (await get(messagebird, params)).status == 200


async def test_the_same_forward_twice_is_stored_once(messagebird: Stack) -> None:
    params = fields("yes")
    assert [(await post(messagebird, params)).status for _ in range(2)] == [200, 200]
    await messagebird.processed(params[0][1])
    await nothing_stored(messagebird, expected=1)


async def test_either_key_works_during_rotation(messagebird: Stack) -> None:
    old, new = fields(), fields()
    url = messagebird.base_url + "/webhooks/messagebird"
    old_token = signature(url, urllib.parse.urlencode(old).encode(), key=OLD_KEY)
    assert (await post(messagebird, old, token=old_token)).status == 200
    assert (await post(messagebird, new)).status == 200
    await messagebird.processed(old[0][1])
    await messagebird.processed(new[0][1])


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ("tampered-body", 403),
        ("wrong-key", 403),
        ("expired", 403),
        ("other-url", 403),
        ("missing", 401),
    ],
)
async def test_bad_signature_is_refused_and_nothing_stored(
    messagebird: Stack, how: str, status: int
) -> None:
    params = fields("YES")
    body = urllib.parse.urlencode(params).encode()
    url = messagebird.base_url + "/webhooks/messagebird"
    if how == "tampered-body":
        changed = [(k, "NO" if k == "body" else v) for k, v in params]
        answer = await post(messagebird, changed, token=signature(url, body))
    elif how == "wrong-key":
        answer = await post(messagebird, params, token=signature(url, body, key="x" * 40))
    elif how == "expired":
        answer = await post(messagebird, params, exp=int(time.time()) - 120)
    elif how == "other-url":
        answer = await post(messagebird, params, token=signature(url + "?x=1", body))
    else:
        answer = await post(messagebird, params, token="")
    assert answer.status == status
    await nothing_stored(messagebird)
