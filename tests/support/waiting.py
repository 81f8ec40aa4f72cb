"""Waiting on a condition with a deadline, instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], within: float = 15.0
) -> T:
    """Call `probe` until `accept(result)` holds; fail with the last result after `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if accept(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s; last value: {result!r}")
        await asyncio.sleep(0.05)
