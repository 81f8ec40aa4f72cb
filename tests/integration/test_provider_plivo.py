"""Plivo webhooks against the running stack, both databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from inbound.config import Settings
from tests.integration.conftest import Answer, Stack, start_stack
from tests.integration.provider_support import nothing_stored

TOKENS = ("plivo-token-old", "plivo-token-new")


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """The stack with Plivo enabled with two auth tokens (a rotation)."""
    update = {"plivo_auth_token": SecretStr(",".join(TOKENS))}
    async for started in start_stack(settings.model_copy(update=update)):
        yield started


def signature(url: str, nonce: str, token: str) -> str:
    """Plivo V2: Base64(HMAC-SHA256(auth token, URL without its query + nonce))."""
    base = url.split("?", 1)[0]
    return base64.b64encode(
        hmac.new(token.encode(), (base + nonce).encode(), hashlib.sha256).digest()
    ).decode()


def fields(text: str = "yes") -> list[tuple[str, str]]:
    return [
        ("From", "447700900123"),
        ("To", "447700900000"),
        ("Text", text),
        ("Type", "sms"),
        ("MessageUUID", str(uuid.uuid4())),
        ("Units", "1"),
        ("TotalRate", "0.00000"),
        ("TotalAmount", "0.00000"),
    ]


async def send(
    stack: Stack,
    params: list[tuple[str, str]],
    token: str | None = TOKENS[0],
    body: bytes | None = None,
    path: str = "/webhooks/plivo",
) -> Answer:
    nonce = uuid.uuid4().hex
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["X-Plivo-Signature-V2"] = signature(stack.base_url + path, nonce, token)
        headers["X-Plivo-Signature-V2-Nonce"] = nonce
    sent = urllib.parse.urlencode(params).encode() if body is None else body
    return await stack.request("POST", path, sent, headers)


@pytest.mark.parametrize("token", TOKENS)
async def test_signed_webhook_is_stored_once_with_normalised_fields(
    stack: Stack, token: str
) -> None:
    params = fields("Yes please")
    message_id = dict(params)["MessageUUID"]
    for _ in range(2):
        answer = await send(stack, params, token)
        assert answer.status == 200
        assert answer.content_type == "application/xml"
    stored = await stack.processed(message_id)
    assert (stored.provider, stored.sender, stored.recipient) == (
        "plivo",
        "+447700900123",
        "+447700900000",
    )
    assert stored.text == "Yes please"
    assert stored.service_id == "appointments"
    await nothing_stored(stack, expected=1)


async def test_query_string_on_the_configured_url_is_not_signed(stack: Stack) -> None:
    params = fields("yes")
    answer = await send(stack, params, path="/webhooks/plivo?service=appointments")
    assert answer.status == 200
    await stack.processed(dict(params)["MessageUUID"])


@pytest.mark.parametrize(
    ("tamper", "status"),
    [("wrong-token", 403), ("missing", 401), ("garbage", 403)],
)
async def test_bad_signature_is_refused_and_nothing_stored(
    stack: Stack, tamper: str, status: int
) -> None:
    params = fields("yes")
    if tamper == "garbage":
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Plivo-Signature-V2": "not base64!",
            "X-Plivo-Signature-V2-Nonce": "1",
        }
        body = urllib.parse.urlencode(params).encode()
        answer = await stack.request("POST", "/webhooks/plivo", body, headers)
    else:
        answer = await send(stack, params, None if tamper == "missing" else "not-the-token")
    assert answer.status == status
    assert answer.json()["error"]["code"].startswith("signature")
    await nothing_stored(stack)


async def test_missing_message_uuid_is_422_and_nothing_stored(stack: Stack) -> None:
    params = [(k, v) for k, v in fields("yes") if k != "MessageUUID"]
    answer = await send(stack, params)
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "MessageUUID"
    await nothing_stored(stack)
