"""The batcher: what queues up while a batch runs goes into the next one, each item gets its
own result or error, and stopping fails what is left (so it stays unacknowledged)."""

from __future__ import annotations

import asyncio

import pytest

from inbound.worker.batch import Batcher, Stopped


class Recorder:
    """A batch handler that doubles numbers, fails on negative ones, and can be held."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        await self.release.wait()
        return [ValueError(f"bad {i}") if i < 0 else i * 2 for i in items]


async def test_a_quiet_queue_is_handled_one_item_at_a_time() -> None:
    handler = Recorder()
    batcher: Batcher[int, int] = Batcher(handler, max_size=32, parallel=1)
    batcher.start()
    try:
        assert [await batcher.submit(n) for n in (1, 2, 3)] == [2, 4, 6]
    finally:
        await batcher.stop()
    assert handler.batches == [[1], [2], [3]]


async def test_items_arriving_during_a_batch_go_together_into_the_next_up_to_the_limit() -> None:
    handler = Recorder()
    handler.release.clear()
    batcher: Batcher[int, int] = Batcher(handler, max_size=4, parallel=1)
    batcher.start()
    try:
        first = asyncio.create_task(batcher.submit(0))
        await asyncio.sleep(0.01)  # the runner is now holding [0]
        rest = [asyncio.create_task(batcher.submit(n)) for n in range(1, 7)]
        await asyncio.sleep(0.01)
        handler.release.set()
        assert await first == 0
        assert [await task for task in rest] == [2, 4, 6, 8, 10, 12]
    finally:
        await batcher.stop()
    assert handler.batches == [[0], [1, 2, 3, 4], [5, 6]]


async def test_each_item_gets_its_own_error_and_the_others_their_results() -> None:
    batcher: Batcher[int, int] = Batcher(Recorder(), max_size=8, parallel=1)
    batcher.start()
    try:
        results = await asyncio.gather(
            *(batcher.submit(n) for n in (1, -1, 2)), return_exceptions=True
        )
    finally:
        await batcher.stop()
    assert results[0] == 2
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "bad -1"
    assert results[2] == 4


async def test_a_failing_handler_fails_its_batch_and_the_runner_carries_on() -> None:
    calls = 0

    async def flaky(items: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        return list(items)

    batcher: Batcher[int, int] = Batcher(flaky, max_size=8, parallel=1)
    batcher.start()
    try:
        with pytest.raises(RuntimeError, match="handler bug"):
            await batcher.submit(1)
        assert await batcher.submit(2) == 2
    finally:
        await batcher.stop()


async def test_stopping_fails_the_running_and_the_queued_items_with_stopped() -> None:
    handler = Recorder()
    handler.release.clear()
    batcher: Batcher[int, int] = Batcher(handler, max_size=1, parallel=1)
    batcher.start()
    running = asyncio.create_task(batcher.submit(1))
    queued = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0.01)
    await batcher.stop()
    for task in (running, queued):
        with pytest.raises(Stopped):
            await task
    assert handler.batches == [[1]]


async def test_a_second_runner_takes_what_arrives_while_the_first_is_busy() -> None:
    handler = Recorder()
    handler.release.clear()
    batcher: Batcher[int, int] = Batcher(handler, max_size=8, parallel=2)
    batcher.start()
    try:
        tasks = [asyncio.create_task(batcher.submit(0))]
        await asyncio.sleep(0.01)
        tasks += [asyncio.create_task(batcher.submit(n)) for n in range(1, 4)]
        await asyncio.sleep(0.01)
        assert handler.batches == [[0], [1, 2, 3]]  # both runners busy at once
        handler.release.set()
        assert [await task for task in tasks] == [0, 2, 4, 6]
    finally:
        await batcher.stop()


async def test_a_batch_takes_each_keys_items_in_turn_keeping_each_keys_order() -> None:
    # Keys by sign of hundreds: 100s are service "a" flooding, 200s service "b" with a few.
    handler = Recorder()
    handler.release.clear()
    batcher: Batcher[int, int] = Batcher(
        handler, max_size=4, parallel=1, key=lambda n: "a" if n < 200 else "b"
    )
    batcher.start()
    try:
        first = asyncio.create_task(batcher.submit(0))
        await asyncio.sleep(0.01)  # the runner is now holding [0]
        flood = [asyncio.create_task(batcher.submit(n)) for n in range(100, 110)]
        few = [asyncio.create_task(batcher.submit(n)) for n in (200, 201)]
        await asyncio.sleep(0.01)
        handler.release.set()
        await asyncio.gather(first, *flood, *few)
    finally:
        await batcher.stop()
    # b's two go in the first batch after the held one, beside a's first, not after all of a's.
    assert handler.batches == [
        [0],
        [100, 200, 101, 201],
        [102, 103, 104, 105],
        [106, 107, 108, 109],
    ]


async def test_stopping_fails_what_waits_under_every_key() -> None:
    handler = Recorder()
    handler.release.clear()
    batcher: Batcher[int, int] = Batcher(handler, max_size=1, parallel=1, key=str)
    batcher.start()
    held = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0.01)
    waiting = [asyncio.create_task(batcher.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0.01)
    await batcher.stop()
    for task in (held, *waiting):
        with pytest.raises(Stopped):
            await task
