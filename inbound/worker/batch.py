"""Gathering deliveries that arrive while the database is busy into one batch.

No waiting to fill a batch: a runner takes whatever has queued up since its last batch, so a
quiet queue is handled message by message and a busy one in batches as large as the prefetch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar


class Stopped(Exception):
    """The batcher stopped before this item's batch finished: nothing of it is acknowledged."""


Item = TypeVar("Item")
Out = TypeVar("Out")

# What a batch handler gives back for each item: its result, or the exception it failed with.
Handler = Callable[[list[Item]], Awaitable[Sequence[Out | BaseException]]]


class Batcher(Generic[Item, Out]):
    """Runs `handle` on batches of submitted items, at most `parallel` batches at a time."""

    def __init__(self, handle: Handler[Item, Out], max_size: int, parallel: int) -> None:
        self._handle = handle
        self._max_size = max_size
        self._parallel = parallel
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Out]]] = asyncio.Queue()
        self._runners: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the runners."""
        self._runners = [asyncio.create_task(self._run()) for _ in range(self._parallel)]

    async def stop(self) -> None:
        """Stop the runners; items queued or in an unfinished batch fail with Stopped."""
        for runner in self._runners:
            runner.cancel()
        for runner in self._runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._runners = []
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            future.set_exception(Stopped())

    async def submit(self, item: Item) -> Out:
        """Queue an item and wait for its result (or its exception)."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outs: Sequence[Out | BaseException] = await self._handle([i for i, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(Stopped())
                raise
            except Exception as error:  # a handler bug fails its own batch, not the runner
                outs = [error] * len(batch)
            for (_, future), out in zip(batch, outs, strict=True):
                if future.done():
                    continue  # its submitter went away
                if isinstance(out, BaseException):
                    future.set_exception(out)
                else:
                    future.set_result(out)
