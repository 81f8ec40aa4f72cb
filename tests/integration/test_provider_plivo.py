"""Plivo webhooks against the running stack, both databases: V3 covers the message, so a changed
text under captured headers is refused; V2 alone is refused unless allowed, and then each V2
nonce is accepted once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import Message, WebhookNonce
from tests.integration.conftest import Answer, Stack, running_stack, start_stack
from tests.integration.provider_support import nothing_stored

TOKENS = ("plivo-token-old", "plivo-token-new")
PATH = "/webhooks/plivo"


def with_plivo(settings: Settings, allow_v2_only: bool) -> Settings:
    update = {
        "plivo_auth_token": SecretStr(",".join(TOKENS)),
        "plivo_allow_v2_only": allow_v2_only,
    }
    return settings.model_copy(update=update)


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """Plivo enabled with two auth tokens (a rotation); V2-only requests refused (the default)."""
    async for started in start_stack(with_plivo(settings, allow_v2_only=False)):
        yield started


@pytest.fixture
async def v2_stack(settings: Settings) -> AsyncIterator[Stack]:
    """As `stack`, with INBOUND_PLIVO_ALLOW_V2_ONLY."""
    async for started in start_stack(with_plivo(settings, allow_v2_only=True)):
        yield started


def v2_signature(url: str, nonce: str, token: str) -> str:
    """Plivo V2: Base64(HMAC-SHA256(auth token, URL without its query + nonce))."""
    base = url.split("?", 1)[0]
    return base64.b64encode(
        hmac.new(token.encode(), (base + nonce).encode(), hashlib.sha256).digest()
    ).decode()


def v3_signature(url: str, params: list[tuple[str, str]], nonce: str, token: str) -> str:
    """Plivo V3 for a POST: URL, `?`, sorted query (and `.`), sorted name+value pairs, `.`,
    nonce; Base64(HMAC-SHA256(auth token, that))."""
    base, _, query = url.partition("?")
    query_text = "&".join(
        f"{k}={v}" for k, v in sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    )
    signed = f"{base}?{query_text}{'.' if query_text else ''}"
    signed += "".join(k + v for k, v in sorted(params)) + "." + nonce
    return base64.b64encode(
        hmac.new(token.encode(), signed.encode(), hashlib.sha256).digest()
    ).decode()


def fields(text: str = "yes", message_id: str | None = None) -> list[tuple[str, str]]:
    return [
        ("From", "447700900123"),
        ("To", "447700900000"),
        ("Text", text),
        ("Type", "sms"),
        ("MessageUUID", message_id or str(uuid.uuid4())),
        ("Units", "1"),
        ("TotalRate", "0.00000"),
        ("TotalAmount", "0.00000"),
    ]


def headers_for(
    stack: Stack,
    params: list[tuple[str, str]],
    token: str = TOKENS[0],
    path: str = PATH,
    v3: bool = True,
) -> dict[str, str]:
    """The headers Plivo sends with these parameters: V2, and V3 unless `v3` is False."""
    url = stack.base_url + path
    nonce, nonce_v3 = uuid.uuid4().hex, str(uuid.uuid4().int)[:20]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Plivo-Signature-V2": v2_signature(url, nonce, token),
        "X-Plivo-Signature-V2-Nonce": nonce,
    }
    if v3:
        headers["X-Plivo-Signature-V3"] = v3_signature(url, params, nonce_v3, token)
        headers["X-Plivo-Signature-V3-Nonce"] = nonce_v3
    return headers


async def post(
    stack: Stack, params: list[tuple[str, str]], headers: dict[str, str], path: str = PATH
) -> Answer:
    return await stack.request("POST", path, urllib.parse.urlencode(params).encode(), headers)


async def stored_texts(stack: Stack) -> list[str | None]:
    """The texts of the Plivo messages stored, oldest first."""
    async with stack.sessions() as session:
        texts = select(Message.text).where(Message.provider == "plivo").order_by(Message.id)
        return list((await session.scalars(texts)).all())


@pytest.mark.parametrize("token", TOKENS)
async def test_signed_webhook_is_stored_once_with_normalised_fields(
    stack: Stack, token: str
) -> None:
    params = fields("Yes please")
    message_id = dict(params)["MessageUUID"]
    for _ in range(2):  # a retry: new nonces, the same message
        answer = await post(stack, params, headers_for(stack, params, token))
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


async def test_a_query_string_on_the_configured_url_is_signed_and_accepted(stack: Stack) -> None:
    params = fields("yes")
    path = PATH + "?service=appointments"
    answer = await post(stack, params, headers_for(stack, params, path=path), path=path)
    assert answer.status == 200
    await stack.processed(dict(params)["MessageUUID"])


@pytest.mark.parametrize("allowed", [False, True])
async def test_a_changed_text_under_captured_v2_and_v3_headers_is_refused(
    settings: Settings, allowed: bool
) -> None:
    """The audit's finding: the changed text got 200 and was stored."""
    async with running_stack(with_plivo(settings, allow_v2_only=allowed)) as stack:
        genuine = fields("Yes please")
        captured = headers_for(stack, genuine)
        assert (await post(stack, genuine, captured)).status == 200
        await stack.processed(dict(genuine)["MessageUUID"])

        for forged in (
            fields("STOP", message_id=dict(genuine)["MessageUUID"]),
            fields("Cancel my appointment"),
        ):
            answer = await post(stack, forged, captured)
            assert answer.status == 403
            assert answer.json()["error"]["code"] == "signature_invalid"
        await nothing_stored(stack, expected=1)
        assert await stored_texts(stack) == ["Yes please"]


async def test_v2_alone_is_refused_by_default_and_nothing_stored(stack: Stack) -> None:
    params = fields("yes")
    answer = await post(stack, params, headers_for(stack, params, v3=False))
    assert answer.status == 401
    assert answer.json()["error"]["field"] == "x-plivo-signature-v3"
    await nothing_stored(stack)


async def test_v2_alone_where_allowed_is_accepted_once_per_nonce(v2_stack: Stack) -> None:
    stack = v2_stack
    genuine = fields("Yes please")
    captured = headers_for(stack, genuine, v3=False)
    assert (await post(stack, genuine, captured)).status == 200
    await stack.processed(dict(genuine)["MessageUUID"])

    # The captured V2 headers again, with any text: a replay.
    for params in (fields("STOP"), genuine):
        answer = await post(stack, params, captured)
        assert answer.status == 403
        assert answer.json()["error"]["code"] == "signature_replayed"
    # A new nonce (Plivo's own retry) is accepted; dedupe keeps the message once.
    assert (await post(stack, genuine, headers_for(stack, genuine, v3=False))).status == 200
    await nothing_stored(stack, expected=1)
    assert await stored_texts(stack) == ["Yes please"]
    async with stack.sessions() as session:
        nonces = (await session.scalars(select(WebhookNonce.nonce))).all()
    assert captured["X-Plivo-Signature-V2-Nonce"] in nonces


@pytest.mark.parametrize(
    ("tamper", "status"),
    [("wrong-token", 403), ("missing", 401), ("garbage", 403)],
)
async def test_bad_signature_is_refused_and_nothing_stored(
    stack: Stack, tamper: str, status: int
) -> None:
    params = fields("yes")
    if tamper == "missing":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif tamper == "garbage":
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Plivo-Signature-V3": "not base64!",
            "X-Plivo-Signature-V3-Nonce": "1",
        }
    else:
        headers = headers_for(stack, params, token="not-the-token")
    answer = await post(stack, params, headers)
    assert answer.status == status
    assert answer.json()["error"]["code"].startswith("signature")
    await nothing_stored(stack)


async def test_missing_message_uuid_is_422_and_nothing_stored(stack: Stack) -> None:
    params = [(k, v) for k, v in fields("yes") if k != "MessageUUID"]
    answer = await post(stack, params, headers_for(stack, params))
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "MessageUUID"
    await nothing_stored(stack)
