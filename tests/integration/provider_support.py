"""Helpers for the provider tests against the running stack: credentials, and "nothing stored"."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import SecretStr

from inbound.config import Settings
from inbound.store.models import Message, ReviewItem
from tests.integration.conftest import Stack, start_stack


def basic(user: str, password: str) -> str:
    """An `Authorization` value as RFC 7617 builds it."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def stack_with(settings: Settings, **update: Any) -> AsyncIterator[Stack]:
    """The running stack with extra settings (plain strings become SecretStr where needed)."""
    secret = {k: SecretStr(v) if isinstance(v, str) else v for k, v in update.items()}
    async for started in start_stack(settings.model_copy(update=secret)):
        yield started


async def nothing_stored(stack: Stack, expected: int = 0) -> None:
    """Prove the worker is idle rather than slow: a good generic message sent afterwards is
    processed, and only it (plus `expected` earlier ones) is stored."""
    marker = {
        "id": f"marker-{uuid.uuid4().hex[:12]}",
        "from": "+447700900123",
        "to": "+447700900000",
        "text": "yes",
    }
    assert (await stack.post_generic(marker)).status == 202
    await stack.processed(marker["id"])
    await asyncio.sleep(0)
    assert await stack.count(Message) == expected + 1
    if expected == 0:
        assert await stack.count(ReviewItem) == 0
