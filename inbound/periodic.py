"""A background loop with an owner: runs a step every interval until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from inbound.logs import get_logger

log = get_logger("periodic")

# A step returns True when it left work undone (a full batch): it runs again without a pause.
Step = Callable[[], Awaitable[bool | None]]


class Periodic:
    """Runs `step` every `interval` seconds, or sooner when woken, until stopped.

    A step that fails is logged as `<name>_failed` and tried again at the next interval: a
    background loop must outlive a database or broker outage.
    """

    def __init__(self, name: str, interval: float, step: Step, *, at_start: bool = False) -> None:
        self.name = name
        self.interval = interval
        self._step = step
        self._at_start = at_start  # run once straight away, before the first wait
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop in a background task."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Run the step soon, without waiting out the interval."""
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the loop and wait for it; a step under way is cancelled too."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if not self._at_start:
            await self._pause()
        while True:
            try:
                again = await self._step()
            except Exception as error:  # logged, and the loop goes on: the next step may work
                log.warning(f"{self.name}_failed", error=type(error).__name__)
                again = False
            if not again:
                await self._pause()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.interval):
                await self._wake.wait()
        self._wake.clear()
