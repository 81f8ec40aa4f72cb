"""A background loop: runs its step on time or when woken, survives a failing step, stops."""

from __future__ import annotations

import asyncio
import itertools

from inbound.periodic import Periodic


class Calls(list[object]):
    """What a step recorded; `reached(n)` waits until it has been called n times."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def add(self, value: object) -> None:
        self.append(value)
        self._changed.set()

    async def reached(self, count: int, within: float = 2.0) -> None:
        async with asyncio.timeout(within):
            while len(self) < count:
                self._changed.clear()
                await self._changed.wait()


async def test_at_start_runs_at_once_then_every_interval() -> None:
    calls = Calls()

    async def step() -> None:
        calls.add(asyncio.get_running_loop().time())

    loop = Periodic("tick", 0.05, step, at_start=True)
    await loop.start()
    await calls.reached(3)
    await loop.stop()
    times = [float(t) for t in calls]  # type: ignore[arg-type]
    assert all(b - a >= 0.04 for a, b in itertools.pairwise(times))


async def test_without_at_start_it_waits_first_and_wake_cuts_the_wait() -> None:
    calls = Calls()

    async def step() -> None:
        calls.add("ran")

    loop = Periodic("tick", 60.0, step)
    await loop.start()
    await asyncio.sleep(0.05)
    assert calls == []
    loop.wake()
    await calls.reached(1)
    assert calls == ["ran"]
    await loop.stop()


async def test_a_failing_step_is_tried_again() -> None:
    attempts = Calls()

    async def step() -> None:
        attempts.add(1)
        if len(attempts) < 3:
            raise OSError("database away")

    loop = Periodic("flaky", 0.01, step, at_start=True)
    await loop.start()
    await attempts.reached(3)
    await loop.stop()


async def test_a_step_that_left_work_runs_again_without_a_pause() -> None:
    batches = [True, True, False]  # two full batches, then the rest
    done = Calls()

    async def step() -> bool:
        more = batches.pop(0) if batches else False
        done.add(more)
        return more

    loop = Periodic("drain", 60.0, step, at_start=True)
    await loop.start()
    await done.reached(3, within=1.0)  # not three intervals of 60 s
    await loop.stop()


async def test_stop_cancels_a_step_under_way() -> None:
    started = asyncio.Event()

    async def step() -> None:
        started.set()
        await asyncio.sleep(3600)

    loop = Periodic("slow", 0.01, step, at_start=True)
    await loop.start()
    await started.wait()
    async with asyncio.timeout(1):
        await loop.stop()
