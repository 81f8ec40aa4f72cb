"""Gathering deliveries that arrive while the database is busy into one batch.

No waiting to fill a batch: a runner takes whatever has queued up since its last batch, so a
quiet queue is handled message by message and a busy one in batches of up to `max_size`.

Items wait in one line per key (the rules worker's: the service a message is for), and a batch
takes them a key at a time, in turn: when more is waiting than one batch holds, a service with
a few messages goes in the next batch beside one that sent hundreds at once, not after all of
them. Within a key the order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar


class Stopped(Exception):
    """The batcher stopped before this item's batch finished: nothing of it is acknowledged."""


Item = TypeVar("Item")
Out = TypeVar("Out")

# What a batch handler gives back for each item: its result, or the exception it failed with.
Handler = Callable[[list[Item]], Awaitable[Sequence[Out | BaseException]]]


class Batcher(Generic[Item, Out]):
    """Runs `handle` on batches of submitted items, at most `parallel` batches at a time; a
    batch takes the items waiting under each key in turn (see the module's docstring)."""

    def __init__(
        self,
        handle: Handler[Item, Out],
        max_size: int,
        parallel: int,
        key: Callable[[Item], str] = lambda _: "",
    ) -> None:
        self._handle = handle
        self._max_size = max_size
        self._parallel = parallel
        self._key = key
        # Per key, its items in arrival order; the keys in the order their turn comes.
        self._lines: OrderedDict[str, deque[tuple[Item, asyncio.Future[Out]]]] = OrderedDict()
        self._waiting = 0
        self._arrived = asyncio.Event()
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
        for line in self._lines.values():
            for _, future in line:
                if not future.done():
                    future.set_exception(Stopped())
        self._lines.clear()
        self._waiting = 0

    async def submit(self, item: Item) -> Out:
        """Queue an item and wait for its result (or its exception)."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        key = self._key(item)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = deque()
        line.append((item, future))
        self._waiting += 1
        self._arrived.set()
        return await future

    def _take(self) -> list[tuple[Item, asyncio.Future[Out]]]:
        """Up to `max_size` waiting items, one from each key in turn; a key that gave an item
        goes to the back, so the next batch starts with the keys this one reached last."""
        batch: list[tuple[Item, asyncio.Future[Out]]] = []
        while self._lines and len(batch) < self._max_size:
            for key in list(self._lines):
                if len(batch) >= self._max_size:
                    break
                line = self._lines[key]
                batch.append(line.popleft())
                if line:
                    self._lines.move_to_end(key)
                else:
                    del self._lines[key]
        self._waiting -= len(batch)
        if not self._waiting:
            self._arrived.clear()
        return batch

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            batch = self._take()
            if not batch:
                continue  # another runner took them
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
