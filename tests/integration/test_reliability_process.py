"""Real `inbound run` processes killed (SIGKILL) or stopped (SIGTERM) mid-work: one message, one
outcome, one callback each, and the queues drain.

"Killed after commit, before ack" uses the test hook INBOUND_TEST_FAULT (off by default; see
docs/reliability.md): the worker SIGKILLs itself at exactly that point.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.store.database import create_engine, session_factory
from tests.conftest import TEST_SECRET_KEY
from tests.integration.reliability_support import counts, message, pg_url, publisher, queue_depth
from tests.integration.test_actions import ALPHA, CALLBACK_SECRET, rules_dir
from tests.support.fake_service import FakeService, fake_service
from tests.support.process import INBOUND
from tests.support.waiting import eventually

__all__ = ["pg_url"]  # a fixture


async def start(env: dict[str, str], logs: Path) -> asyncio.subprocess.Process:
    out = logs.with_suffix(".out")
    with out.open("w") as stdout, logs.with_suffix(".err").open("a") as stderr:
        process = await asyncio.create_subprocess_exec(
            INBOUND, "run", env=env, stdout=stdout, stderr=stderr
        )

    async def printed() -> str:
        return out.read_text()

    await eventually(printed, lambda text: "listening on" in text or process.returncode is not None)
    return process


def keys(service: FakeService) -> list[str]:
    return [request.headers["Idempotency-Key"] for request in service.received]


async def database(
    env: dict[str, str],
) -> tuple[Callable[[], object], async_sessionmaker[AsyncSession]]:
    engine = create_engine(env["INBOUND_DATABASE_URL"])
    return engine.dispose, session_factory(engine)


@pytest.fixture
def pg_env(env: dict[str, str], pg_url: str, tmp_path: Path) -> dict[str, str]:
    env["INBOUND_DATABASE_URL"] = pg_url
    # `inbound run` serves the review pages, which on PostgreSQL need a key for two-factor keys.
    env["INBOUND_SECRET_KEY"] = TEST_SECRET_KEY
    env["INBOUND_TEST_CALLBACK_SECRET"] = CALLBACK_SECRET
    env["INBOUND_RETRY_DELAYS"] = "0.5"
    return env


@pytest.mark.parametrize("fault", ["crash-before-commit", "crash-after-commit"])
async def test_worker_killed_around_the_commit_gives_one_outcome_and_one_callback(
    pg_env: dict[str, str], tmp_path: Path, fault: str
) -> None:
    namespace = pg_env["INBOUND_AMQP_NAMESPACE"]
    async with fake_service([200]) as service:
        pg_env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, [("alpha", ALPHA, service.url)]))
        async with publisher(pg_env["INBOUND_AMQP_URL"], namespace) as publish:
            await publish.publish(message("kill-1", text="cancel", to=ALPHA))
        first = await start({**pg_env, "INBOUND_TEST_FAULT": fault}, tmp_path / "first")
        code = await asyncio.wait_for(first.wait(), 30)
        assert code == -signal.SIGKILL
        second = await start(pg_env, tmp_path / "second")
        dispose, sessions = await database(pg_env)
        try:
            # After a commit without ack the action was never published: the sweep finds it.
            await eventually(lambda: _len(service), lambda n: n == 1, within=40)
            found = await counts(sessions)
            await asyncio.sleep(1.5)  # a second callback would have come by now
            received = await queue_depth(pg_env["INBOUND_AMQP_URL"], f"{namespace}.received")
            actions = await queue_depth(pg_env["INBOUND_AMQP_URL"], f"{namespace}.actions")
        finally:
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0
            await dispose()  # type: ignore[misc]
    assert found["messages"] == 1
    assert found["outcomes"] == 1
    assert len(keys(service)) == 1  # one callback, sent once
    assert (received, actions) == (0, 0)


async def _len(service: FakeService) -> int:
    return len(service.received)


async def test_sigterm_with_200_in_flight_loses_and_duplicates_nothing(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    namespace = pg_env["INBOUND_AMQP_NAMESPACE"]
    pg_env["INBOUND_PREFETCH"] = "200"
    pg_env["INBOUND_SHUTDOWN_TIMEOUT"] = "5"
    async with fake_service([200], delay=0.1) as service:
        pg_env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, [("alpha", ALPHA, service.url)]))
        async with publisher(pg_env["INBOUND_AMQP_URL"], namespace) as publish:
            for n in range(200):
                await publish.publish(message(f"term-{n}", text="cancel", to=ALPHA))
        dispose, sessions = await database(pg_env)
        try:
            first = await start(pg_env, tmp_path / "first")
            await eventually(lambda: counts(sessions), lambda c: c["messages"] > 0, within=30)
            stopped_at = time.monotonic()
            first.send_signal(signal.SIGTERM)  # work in flight: messages and callbacks
            assert await asyncio.wait_for(first.wait(), 30) == 0
            took = time.monotonic() - stopped_at
            before = (await counts(sessions))["messages"], len(service.received)
            second = await start(pg_env, tmp_path / "second")
            try:
                await eventually(lambda: _len(service), lambda n: n >= 200, within=60)
                await asyncio.sleep(1.5)
                found = await counts(sessions)
            finally:
                second.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(second.wait(), 30) == 0
        finally:
            await dispose()  # type: ignore[misc]
    assert took < 5 + 5  # the shutdown timeout, and a little for closing
    assert found["messages"] == 200
    assert found["outcomes"] == 200
    assert len(keys(service)) == 200  # no callback sent twice
    assert len(set(keys(service))) == 200
    print(
        f"\nSIGTERM with 200 in flight: stopped in {took:.1f} s with {before[0]} stored and "
        f"{before[1]} callbacks sent; after restart 200 stored, 200 callbacks, 0 duplicates"
    )
