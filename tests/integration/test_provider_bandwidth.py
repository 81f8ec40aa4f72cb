"""Bandwidth callbacks through the running stack: event arrays, only inbound messages stored."""

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
async def bandwidth(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, bandwidth_basic_auth="bw:old-pw,bw:new-pw"):
        yield stack


def received(text: str, sender: str = "+447700900123") -> dict[str, Any]:
    return {
        "type": "message-received",
        "time": "2026-11-28T09:15:01.000Z",
        "description": "Incoming message received",
        "to": "+447700900000",
        "message": {
            "id": uuid.uuid4().hex,
            "owner": "+447700900000",
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "time": "2026-11-28T09:15:00.000Z",
            "segmentCount": 1,
            "direction": "in",
            "to": ["+447700900000"],
            "from": sender,
            "text": text,
        },
    }


DELIVERED = {
    "type": "message-delivered",
    "time": "2026-11-28T09:15:02Z",
    "description": "ok",
    "to": "+447700900123",
    "message": {"id": "outbound-1", "direction": "out", "from": "+447700900000", "text": "hi"},
}


async def post(stack: Stack, events: list[dict[str, Any]], auth: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    credentials = basic("bw", "new-pw") if auth is None else auth
    if credentials:
        headers["Authorization"] = credentials
    return await stack.request("POST", "/webhooks/bandwidth", json.dumps(events).encode(), headers)


async def test_inbound_events_are_stored_and_status_events_skipped(bandwidth: Stack) -> None:
    first, second = received("YES"), received("cancel", "+447700900456")
    answer = await post(bandwidth, [first, DELIVERED, second])
    assert answer.status == 200
    for event in (first, second):
        stored = await bandwidth.processed(event["message"]["id"])
        assert (stored.provider, stored.recipient) == ("bandwidth", "+447700900000")
        assert stored.sender == event["message"]["from"]
        assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    await nothing_stored(bandwidth, expected=2)


async def test_only_status_events_is_200_and_nothing_stored(bandwidth: Stack) -> None:
    assert (await post(bandwidth, [DELIVERED])).status == 200
    await nothing_stored(bandwidth)


async def test_the_same_callback_twice_is_stored_once(bandwidth: Stack) -> None:
    event = received("yes")
    assert [(await post(bandwidth, [event])).status for _ in range(2)] == [200, 200]
    await bandwidth.processed(event["message"]["id"])
    await nothing_stored(bandwidth, expected=1)


async def test_old_credentials_work_during_rotation(bandwidth: Stack) -> None:
    event = received("YES")
    assert (await post(bandwidth, [event], auth=basic("bw", "old-pw"))).status == 200
    await bandwidth.processed(event["message"]["id"])


@pytest.mark.parametrize(
    ("auth", "status"),
    [(basic("bw", "wrong"), 403), (basic("other", "new-pw"), 403), ("", 401)],
)
async def test_bad_credentials_are_refused_and_nothing_stored(
    bandwidth: Stack, auth: str, status: int
) -> None:
    assert (await post(bandwidth, [received("YES")], auth=auth)).status == status
    await nothing_stored(bandwidth)


async def test_missing_credentials_401_carries_the_basic_challenge(bandwidth: Stack) -> None:
    # Bandwidth follows RFC 7235: without WWW-Authenticate on the 401 it never sends credentials.
    async with bandwidth.http.post(
        bandwidth.base_url + "/webhooks/bandwidth",
        data=json.dumps([received("YES")]).encode(),
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 401
        assert response.headers.get("WWW-Authenticate") == 'Basic realm="inbound"'
