"""Infobip forwards through the running stack: several messages per request, all stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from inbound.config import Settings
from inbound.store.models import Message
from tests.integration.conftest import Answer, Stack
from tests.integration.provider_support import basic, nothing_stored, stack_with


@pytest.fixture
async def infobip(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, infobip_basic_auth="ib:old-pw,ib:new-pw"):
        yield stack


def result(text: str, sender: str = "447700900123") -> dict[str, Any]:
    return {
        "messageId": uuid.uuid4().hex,
        "from": sender,
        "to": "447700900000",
        "text": text,
        "cleanText": text,
        "keyword": "",
        "receivedAt": "2026-11-28T10:15:00.000+0100",
        "smsCount": 1,
    }


async def post(stack: Stack, results: list[dict[str, Any]], auth: str | None = None) -> Answer:
    body = json.dumps({"results": results, "messageCount": len(results)}).encode()
    headers = {"Content-Type": "application/json"}
    headers["Authorization"] = auth if auth is not None else basic("ib", "new-pw")
    if not headers["Authorization"]:
        del headers["Authorization"]
    return await stack.request("POST", "/webhooks/infobip", body, headers)


async def test_several_messages_in_one_request_are_all_stored(infobip: Stack) -> None:
    results = [result("YES"), result("cancel", "447700900456"), result("YES", "447700900789")]
    answer = await post(infobip, results)
    assert answer.status == 200
    for item in results:
        stored = await infobip.processed(item["messageId"])
        assert stored.provider == "infobip"
        assert stored.sender == "+" + item["from"]
        assert stored.recipient == "+447700900000"
        assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    assert await infobip.count(Message) == 3


async def test_the_same_request_twice_is_stored_once(infobip: Stack) -> None:
    results = [result("yes"), result("no")]
    assert [(await post(infobip, results)).status for _ in range(2)] == [200, 200]
    for item in results:
        await infobip.processed(item["messageId"])
    await nothing_stored(infobip, expected=2)


async def test_old_credentials_work_during_rotation(infobip: Stack) -> None:
    item = result("YES")
    assert (await post(infobip, [item], auth=basic("ib", "old-pw"))).status == 200
    await infobip.processed(item["messageId"])


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        (basic("ib", "wrong"), 403),
        (basic("someone", "new-pw"), 403),
        ("", 401),
        ("Bearer token", 401),
    ],
)
async def test_bad_credentials_are_refused_and_nothing_stored(
    infobip: Stack, auth: str, status: int
) -> None:
    assert (await post(infobip, [result("YES")], auth=auth)).status == status
    await nothing_stored(infobip)


async def test_one_bad_message_refuses_the_whole_request(infobip: Stack) -> None:
    bad = {k: v for k, v in result("x").items() if k != "messageId"}
    answer = await post(infobip, [result("YES"), bad])
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "results[1].messageId"
    await nothing_stored(infobip)


@pytest.fixture
async def unverified(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, unverified_providers=["infobip"]):
        yield stack


async def test_explicitly_unverified_infobip_needs_no_credentials(unverified: Stack) -> None:
    item = result("YES")
    assert (await post(unverified, [item], auth="")).status == 200
    await unverified.processed(item["messageId"])
