"""A bounded stop: every step of a process's shutdown within INBOUND_SHUTDOWN_TIMEOUT.

A stop is a list of steps run in reverse order of start (drain the HTTP server, stop the
consumers, close channels, the connection, the database pool). Each one can hang on a peer that
stopped answering (a RabbitMQ stalled behind a network fault held a channel close for ~30 s), so:

- the whole stop shares one budget, `shutdown_timeout`, counted from the first step;
- a step gets what is left of it, and a close (which finishes no work, only says goodbye) at
  most CLOSE_WITHIN of that; a step that overruns is abandoned and logged, the next one runs;
- a step that starts with the budget spent still gets STEP_GRACE, so a quick close still happens;
- tasks that won't end when cancelled (a driver awaiting a stalled peer in its clean-up) are
  left: the process exits without waiting for them, since closing the event loop would;
- and a backstop ends the process BACKSTOP seconds after the budget, should anything else
  (a blocked event loop) still hold it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable

from inbound.lifecycle import STEP_GRACE, step_allowance
from inbound.logs import get_logger

log = get_logger("stopping")

# Seconds after the budget when the process exits whatever still runs.
BACKSTOP = 5.0
# Exit status when the backstop ended the process (the stop did not finish by itself).
BACKSTOP_STATUS = 3

Step = Callable[[], Awaitable[object]]


class StopBudget:
    """The time a stopping process has left; started by the first step that runs."""

    def __init__(self, timeout: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._clock = clock
        self._deadline: float | None = None
        self.abandoned: list[str] = []  # steps that overran, in the order they ran

    def begin(self) -> None:
        """Start counting (again a no-op once started)."""
        if self._deadline is None:
            self._deadline = self._clock() + self.timeout

    def left(self) -> float:
        """Seconds left of the budget (the whole of it before the stop began)."""
        if self._deadline is None:
            return self.timeout
        return max(self._deadline - self._clock(), 0.0)

    def allowance(self, *, close: bool) -> float:
        """How long the next step may take (`lifecycle.step_allowance`)."""
        return step_allowance(self.left(), close=close)

    def bounded(self, name: str, step: Step, *, close: bool = False) -> Step:
        """`step`, abandoned (and logged) when it overruns its allowance or fails.

        The step runs as a task of its own and is waited for at most its allowance: a step
        that ignores cancellation (a driver cleaning up over a stalled socket) can't hold the
        stop. An abandoned step is cancelled and left; `leftovers` deals with it at the end.
        """

        async def run() -> None:
            self.begin()
            within = self.allowance(close=close)
            task = asyncio.ensure_future(step())
            done, _ = await asyncio.wait({task}, timeout=within)
            if not done:
                task.cancel()
                self.abandoned.append(name)
                log.warning("stop_step_abandoned", step=name, after_seconds=round(within, 2))
                return
            error = task.exception()
            if error is not None:  # a failing close must not keep the rest from running
                log.warning("stop_step_failed", step=name, error=type(error).__name__)

        return run


async def leftovers(within: float = STEP_GRACE) -> list[str]:
    """Cancel the tasks still running at the end of a stop and wait `within` for them; the
    names of those that would not end (the event loop could not be closed while they run)."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=within)
    return sorted(task.get_name() for task in pending)


def exit_now(status: int) -> None:
    """End the process at once: what is written is flushed, nothing else runs."""
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(status)


def backstop(after: float, status: int = BACKSTOP_STATUS) -> threading.Timer:
    """End the process `after` seconds from now unless cancelled: the last resort when a stop
    step ignores its bound. A thread, so it fires even if the event loop is blocked."""

    def end() -> None:
        log.error("stop_overran_exiting", after_seconds=after, status=status)
        exit_now(status)

    timer = threading.Timer(after, end)
    timer.daemon = True
    timer.start()
    return timer
