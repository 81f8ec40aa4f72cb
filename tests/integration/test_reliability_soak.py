"""A bounded soak: 10,000 messages through two real `inbound worker` processes on PostgreSQL
while a chaos loop SIGKILLs workers and cuts every broker connection (a RabbitMQ restart, played
by a TCP proxy so the shared server keeps running). The checker then counts what was lost and
which side effects happened twice; both must be 0.

INBOUND_SOAK_MESSAGES, INBOUND_SOAK_SEED and INBOUND_SOAK_LIMIT change the size, the seed and
the time limit (see docs/reliability.md, "Soak").
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest
from yarl import URL

from inbound.store.database import create_engine, session_factory
from tests.conftest import TEST_RETRY_DELAYS
from tests.integration.reliability_support import amqp_through, message, pg_url, publisher
from tests.integration.soak_support import (
    Chaos,
    Planned,
    Progress,
    Run,
    Workers,
    chaos,
    check,
    cut,
    plan,
    progress,
    stored,
)
from tests.integration.test_actions import (
    ALPHA,
    BETA,
    CALLBACK_SECRET,
    NOTIFY_KEY,
    TEMPLATE,
    rules_dir,
    with_notify_service,
)
from tests.support.fake_notify import running_fake_notify
from tests.support.fake_service import fake_service
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

__all__ = ["pg_url"]  # a fixture

MESSAGES = int(os.environ.get("INBOUND_SOAK_MESSAGES", "10000"))
SEED = int(os.environ.get("INBOUND_SOAK_SEED", "20260101"))
WORKERS = 2
SERVICES = (("alpha", ALPHA), ("beta", BETA))
# The whole soak must finish by itself: 6 minutes per 10,000 messages (at least 6 minutes),
# unless INBOUND_SOAK_LIMIT says otherwise (seconds). It is there to catch work that never
# finishes, not to time it (that is `make bench`): quiet 2-core machines drained in 177-210 s,
# which left a 240 s limit too little room for a slower machine of the same kind.
LIMIT = float(os.environ.get("INBOUND_SOAK_LIMIT", 360.0 * max(1.0, MESSAGES / 10_000)))
# Published concurrently in windows this size: one confirm at a time would take longer than
# the processing it feeds.
WINDOW = 200
# After draining, how long a late duplicate (a redelivery, a second callback) has to show up.
QUIET = 2.0


@pytest.fixture
def soak_env(env: dict[str, str], pg_url: str) -> dict[str, str]:
    """Worker settings: PostgreSQL, fast retries, replies through a fake Notify, no reply cap."""
    env["INBOUND_DATABASE_URL"] = pg_url
    env["INBOUND_TEST_CALLBACK_SECRET"] = CALLBACK_SECRET
    # The test namespace fixture deletes exactly these delay queues afterwards.
    env["INBOUND_RETRY_DELAYS"] = ",".join(str(delay) for delay in TEST_RETRY_DELAYS)
    env["INBOUND_SHUTDOWN_TIMEOUT"] = "5"
    # Every reply allowed, so a missing one is a loss rather than the cap doing its job.
    env["INBOUND_REPLY_CAP_PER_HOUR"] = str(MESSAGES)
    env["INBOUND_SENDER"] = "notify"
    env["INBOUND_NOTIFY_API_KEY"] = NOTIFY_KEY
    env["INBOUND_NOTIFY_TEMPLATE_ID"] = TEMPLATE
    return env


async def publish_all(amqp_url: str, namespace: str, planned: list[Planned]) -> None:
    """Publish every planned message straight to RabbitMQ (not through the proxy), confirmed."""
    async with publisher(amqp_url, namespace) as publish:
        for start in range(0, len(planned), WINDOW):
            await asyncio.gather(
                *(
                    publish.publish(
                        message(item.provider_message_id, item.text, item.sender, item.recipient)
                    )
                    for item in planned[start : start + WINDOW]
                )
            )


async def test_soak_with_worker_kills_and_broker_cuts_loses_and_duplicates_nothing(
    soak_env: dict[str, str], amqp_url: str, tmp_path: Path
) -> None:
    namespace = soak_env["INBOUND_AMQP_NAMESPACE"]
    print(f"\nsoak: {MESSAGES:,} messages, seed {SEED} (INBOUND_SOAK_SEED to repeat the mix)")
    # Separate generators: the chaos schedule stays the same whatever the number of messages.
    planned = plan(MESSAGES, random.Random(SEED))
    rng = random.Random(SEED + 1)
    target = URL(amqp_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5672)
    await proxy.start()
    engine = create_engine(soak_env["INBOUND_DATABASE_URL"])
    sessions = session_factory(engine)
    async with fake_service([200]) as callbacks, running_fake_notify() as notify:
        with_notify_service(notify)  # the service NOTIFY_KEY belongs to, with TEMPLATE
        # Two services: the action worker limits how many callbacks one service has in flight.
        services = [(name, number, callbacks.url + name) for name, number in SERVICES]
        soak_env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, services))
        soak_env["INBOUND_NOTIFY_BASE_URL"] = notify.url
        soak_env["INBOUND_AMQP_URL"] = amqp_through(amqp_url, proxy)
        workers = Workers(soak_env, tmp_path, WORKERS)
        done = Chaos()
        stop = asyncio.Event()
        loop: asyncio.Task[None] | None = None
        unfinished: str | None = None
        stored_after: float | None = None
        try:
            await workers.start()
            started = time.monotonic()
            deadline = started + LIMIT
            loop = asyncio.create_task(chaos(workers, proxy, rng, stop, done))

            async def stored_so_far() -> int:
                if loop is not None and loop.done():
                    loop.result()  # raises what ended the chaos early, e.g. a worker crash
                return await stored(sessions)

            async def left_to_do() -> Progress:
                workers.check()
                return await progress(sessions, amqp_url, namespace, MESSAGES)

            try:
                await publish_all(amqp_url, namespace, planned)
                # Chaos goes on while the backlog is processed, not only while it is published.
                await eventually(
                    stored_so_far,
                    lambda count: count >= MESSAGES,
                    within=deadline - time.monotonic(),
                )
                stored_after = time.monotonic() - started
                stop.set()
                await loop
                # One last broker restart: the workers that finish the job must all have come
                # through one (a consumer that isn't restored after a reconnect shows here).
                await cut(proxy, rng, done)
                await eventually(
                    left_to_do,
                    lambda left: left == Progress(0, 0, 0, 0),
                    within=max(deadline - time.monotonic(), 1.0),
                )
            except AssertionError as error:
                # Not drained in time: still count what was lost, so the output says how much.
                unfinished = str(error)
            seconds = time.monotonic() - started
            stop.set()
            await loop
            await asyncio.sleep(QUIET)  # deliberate: a late duplicate would arrive by now
            run = Run(
                MESSAGES,
                SEED,
                WORKERS,
                workers.kills,
                done.cuts,
                stored_after,
                seconds,
                drained=unfinished is None,
            )
            report = await check(sessions, planned, callbacks, notify, run)
        finally:
            stop.set()
            if loop is not None and not loop.done():
                loop.cancel()
            codes = await workers.stop()
            await proxy.cut()
            await engine.dispose()
    print(report.summary())
    print(f"chaos, in order: {' '.join(done.events)}")
    assert unfinished is None, f"not drained within {LIMIT:.0f} s: {unfinished}"
    assert report.lost_total == 0, report.lost
    assert report.duplicated_total == 0, report.duplicated
    assert codes == [0] * WORKERS  # SIGTERM after all that still stops cleanly
