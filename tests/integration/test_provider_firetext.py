"""Firetext inbound forms through the running stack: the derived id dedupes retries."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import Message
from tests.integration.conftest import Answer, Stack
from tests.integration.provider_support import basic, nothing_stored, stack_with
from tests.support.waiting import eventually


@pytest.fixture
async def firetext(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, firetext_basic_auth="notify:old-pw,notify:new-pw"):
        yield stack


def form(message: str = "YES") -> list[tuple[str, str]]:
    return [
        ("source", "447700900123"),
        ("destination", "447700900000"),
        # A unique suffix keeps each test's message distinct from the others'.
        ("message", message),
        ("time", f"2026-07-21 12:00:{uuid.uuid4().int % 60:02d}"),
    ]


async def post(stack: Stack, fields: list[tuple[str, str]], auth: str | None = None) -> Answer:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    credentials = basic("notify", "new-pw") if auth is None else auth
    if credentials:
        headers["Authorization"] = credentials
    body = urllib.parse.urlencode(fields).encode()
    return await stack.request("POST", "/webhooks/firetext", body, headers)


async def firetext_message(stack: Stack) -> Message:
    async def probe() -> Message | None:
        async with stack.sessions() as session:
            found: Message | None = await session.scalar(
                select(Message).where(Message.provider == "firetext")
            )
            return found

    found = await eventually(probe, lambda message: message is not None)
    assert found is not None
    return found


async def test_message_is_stored_with_a_derived_id(firetext: Stack) -> None:
    fields = form("YES")
    answer = await post(firetext, fields)
    assert answer.status == 200
    assert answer.json() == {"status": "ok"}
    stored = await firetext_message(firetext)
    assert stored.provider_message_id.startswith("ft-")
    assert (stored.sender, stored.recipient, stored.text) == (
        "+447700900123",
        "+447700900000",
        "YES",
    )
    assert stored.received_at.isoformat().startswith("2026-07-21T12:00:")  # UTC as sent


async def test_the_same_message_twice_is_stored_once(firetext: Stack) -> None:
    fields = form("yes")
    assert [(await post(firetext, fields)).status for _ in range(2)] == [200, 200]
    await firetext_message(firetext)
    await nothing_stored(firetext, expected=1)


async def test_old_credentials_work_during_rotation(firetext: Stack) -> None:
    assert (await post(firetext, form(), auth=basic("notify", "old-pw"))).status == 200
    await firetext_message(firetext)


@pytest.mark.parametrize(
    ("auth", "status"),
    [(basic("notify", "wrong"), 403), (basic("firetext", "new-pw"), 403), ("", 401)],
)
async def test_bad_credentials_are_refused_and_nothing_stored(
    firetext: Stack, auth: str, status: int
) -> None:
    assert (await post(firetext, form(), auth=auth)).status == status
    await nothing_stored(firetext)


async def test_missing_source_is_422_and_nothing_stored(firetext: Stack) -> None:
    answer = await post(firetext, [(k, v) for k, v in form() if k != "source"])
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "source"
    await nothing_stored(firetext)
