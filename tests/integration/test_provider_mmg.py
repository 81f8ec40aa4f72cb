"""MMG inbound JSON through the running stack, as GOV.UK Notify receives it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from inbound.config import Settings
from tests.integration.conftest import Answer, Stack
from tests.integration.provider_support import basic, nothing_stored, stack_with


@pytest.fixture
async def mmg(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, mmg_basic_auth="notify:old-pw,notify:new-pw"):
        yield stack


def payload(message: str = "YES") -> dict[str, Any]:
    return {
        "MSISDN": "447700900123",
        "Number": "447700900000",
        "Message": message,
        "ID": f"MMG-{uuid.uuid4().hex[:16]}",
        "DateRecieved": "2026-07-21+11%3A56%3A11",  # UTC, in summer too
        "Trigger": "Trigger?",
        "Channel": "SMS",
    }


async def post(stack: Stack, data: dict[str, Any], auth: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json"}
    credentials = basic("notify", "new-pw") if auth is None else auth
    if credentials:
        headers["Authorization"] = credentials
    return await stack.request("POST", "/webhooks/mmg", json.dumps(data).encode(), headers)


async def test_message_is_decoded_and_stored_normalised(mmg: Stack) -> None:
    data = payload("Yes+please%2C+Tuesday")
    answer = await post(mmg, data)
    assert (answer.status, answer.text) == (200, "RECEIVED")
    stored = await mmg.processed(data["ID"])
    assert (stored.provider, stored.sender, stored.recipient) == (
        "mmg",
        "+447700900123",
        "+447700900000",
    )
    assert stored.text == "Yes please, Tuesday"
    assert stored.received_at.isoformat() == "2026-07-21T11:56:11+00:00"  # as Notify reads it


async def test_the_same_message_twice_is_stored_once(mmg: Stack) -> None:
    data = payload("yes")
    assert [(await post(mmg, data)).status for _ in range(2)] == [200, 200]
    await mmg.processed(data["ID"])
    await nothing_stored(mmg, expected=1)


async def test_old_credentials_work_during_rotation(mmg: Stack) -> None:
    data = payload()
    assert (await post(mmg, data, auth=basic("notify", "old-pw"))).status == 200
    await mmg.processed(data["ID"])


@pytest.mark.parametrize(
    ("auth", "status"),
    [(basic("notify", "wrong"), 403), (basic("mmg", "new-pw"), 403), ("", 401)],
)
async def test_bad_credentials_are_refused_and_nothing_stored(
    mmg: Stack, auth: str, status: int
) -> None:
    assert (await post(mmg, payload(), auth=auth)).status == status
    await nothing_stored(mmg)


async def test_missing_id_is_422_and_nothing_stored(mmg: Stack) -> None:
    data = {k: v for k, v in payload().items() if k != "ID"}
    answer = await post(mmg, data)
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "ID"
    await nothing_stored(mmg)
