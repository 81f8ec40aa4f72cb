"""Start in any order: real `inbound serve` and `inbound worker` processes started while RabbitMQ
refuses connections (a closed TCP proxy in front of it), which then comes back.

`serve` answers webhooks 2xx from the start (the database spool) and relays each to RabbitMQ
once it answers; a worker waits, saying why, then consumes. /healthz is liveness, /readyz
readiness: for `serve` RabbitMQ or the database, for a worker both. A refused login is still
the one-line error it was.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.store.database import create_engine, session_factory
from tests.conftest import TEST_SECRET_KEY
from tests.integration.lifecycle_support import (
    Inbound,
    closed_proxy,
    drain_ids,
    get_json,
    post_generic,
    start_inbound,
)
from tests.integration.reliability_support import (
    SENDER,
    SERVICE_NUMBER,
    amqp_through,
    counts,
    message,
    pg_url,
    proxied,
    publisher,
)
from tests.support.process import free_port, inbound, silent_listener
from tests.support.waiting import eventually

__all__ = ["pg_url"]  # a fixture

COUNT = 20
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


async def readiness(base: str) -> tuple[int, dict[str, bool]]:
    status, body = await get_json(base, "/readyz")
    return status, body["checks"]


@pytest.fixture
def pg_env(env: dict[str, str], pg_url: str) -> dict[str, str]:
    env["INBOUND_DATABASE_URL"] = pg_url
    env["INBOUND_SECRET_KEY"] = TEST_SECRET_KEY  # `serve` has the staff pages
    return env


async def test_serve_started_without_rabbitmq_spools_webhooks_and_relays_each_once(
    pg_env: dict[str, str], amqp_url: str, tmp_path: Path
) -> None:
    namespace = pg_env["INBOUND_AMQP_NAMESPACE"]
    rabbit = await closed_proxy(amqp_url)
    async with proxied(pg_env["INBOUND_DATABASE_URL"], 5432) as (database, through):
        assert inbound({**pg_env}, "migrate").returncode == 0
        env = {**pg_env, "INBOUND_DATABASE_URL": through}
        env["INBOUND_AMQP_URL"] = amqp_through(amqp_url, rabbit)
        env["INBOUND_SPOOL_AFTER"] = "1"
        base = f"http://127.0.0.1:{env['INBOUND_PORT']}"
        engine = create_engine(pg_env["INBOUND_DATABASE_URL"])
        sessions = session_factory(engine)
        serve = await start_inbound(env, "serve", tmp_path / "serve")
        try:
            printed = await serve.says("listening on")
            assert "waiting for RabbitMQ (cannot reach RabbitMQ at amqp://guest:***@" in printed
            assert "webhooks are spooled to the database meanwhile" in printed

            # RabbitMQ refuses, the database answers: alive, ready, and every webhook a 2xx.
            assert (await get_json(base, "/healthz"))[0] == 200
            assert await readiness(base) == (200, {"broker": False, "database": True})
            answers = await asyncio.gather(*(post_generic(base, payload(n)) for n in range(COUNT)))
            assert answers == [202] * COUNT
            assert (await counts(sessions))["spool"] == COUNT

            # Both away: not ready (a webhook could not be made durable).
            await database.cut()
            await eventually(lambda: readiness(base), lambda r: r[0] == 503, within=30)
            await database.restore()

            # RabbitMQ back: connected, the spool relayed, each message on the queue once.
            await rabbit.restore()
            await eventually(
                lambda: readiness(base), lambda r: r == (200, {"broker": True, "database": True})
            )
            await eventually(lambda: counts(sessions), lambda c: c["spool"] == 0, within=60)
            ids = await drain_ids(amqp_url, f"{namespace}.received")
            assert sorted(ids) == sorted(f"generic:start-{n}" for n in range(COUNT))

            # The database away, RabbitMQ up: still ready, and webhooks go straight through.
            await database.cut()
            await eventually(
                lambda: readiness(base), lambda r: r == (200, {"broker": True, "database": False})
            )
            assert await post_generic(base, payload(COUNT)) == 202
            assert await drain_ids(amqp_url, f"{namespace}.received") == [f"generic:start-{COUNT}"]
            await database.restore()

            code, _ = await serve.terminate()
            assert code == 0, serve.logged()[-3000:]
        finally:
            await serve.kill()
            await rabbit.cut()
            await engine.dispose()


def payload(n: int) -> dict[str, str]:
    return {"id": f"start-{n}", "from": SENDER, "to": SERVICE_NUMBER, "text": "yes"}


async def test_worker_started_without_rabbitmq_waits_then_consumes(
    pg_env: dict[str, str], amqp_url: str, tmp_path: Path
) -> None:
    namespace = pg_env["INBOUND_AMQP_NAMESPACE"]
    rabbit = await closed_proxy(amqp_url)
    assert inbound(pg_env, "migrate").returncode == 0
    env = {**pg_env, "INBOUND_AMQP_URL": amqp_through(amqp_url, rabbit)}
    env["INBOUND_METRICS_PORT"] = str(free_port())
    base = f"http://127.0.0.1:{env['INBOUND_METRICS_PORT']}"
    engine = create_engine(pg_env["INBOUND_DATABASE_URL"])
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    worker = await start_inbound(env, "worker", tmp_path / "worker")
    try:
        printed = await worker.says("waiting for RabbitMQ")
        assert "cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:" in printed
        await worker.says("listening on")
        assert "rules worker consuming" not in worker.printed()
        assert '"event":"rabbitmq_waiting"' in worker.logged()
        # Alive, not ready: a worker needs both.
        assert (await get_json(base, "/healthz"))[0] == 200
        assert await readiness(base) == (503, {"broker": False, "database": True})
        assert image_healthcheck(env) == 0  # the Docker HEALTHCHECK finds its metrics port

        # Messages wait on the real RabbitMQ meanwhile.
        async with publisher(amqp_url, namespace) as publish:
            for n in range(COUNT):
                await publish.publish(message(f"waited-{n}"))
        await rabbit.restore()
        await worker.says("rules worker consuming", within=60)
        await eventually(lambda: counts(sessions), lambda c: c["messages"] == COUNT, within=60)
        assert await readiness(base) == (200, {"broker": True, "database": True})
        assert '"event":"rabbitmq_connected"' in worker.logged()
        code, _ = await worker.terminate()
        assert code == 0, worker.logged()[-3000:]
        assert image_healthcheck(env) == 1  # nothing answers any more
    finally:
        await worker.kill()
        await rabbit.cut()
        await engine.dispose()
    found = await _counts(pg_env["INBOUND_DATABASE_URL"])
    assert (found["messages"], found["outcomes"] + found["reviews"]) == (COUNT, COUNT)


def image_healthcheck(env: dict[str, str]) -> int:
    """The image's HEALTHCHECK command, run here (no Docker engine): its exit status."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [healthcheck] = [line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK")]
    assert healthcheck.endswith('CMD ["inbound-entrypoint", "healthcheck"]')
    assert "ENV INBOUND_METRICS_PORT=" in dockerfile
    # A worker's INBOUND_PORT is set in every container, and nothing listens on it.
    env = {**env, "INBOUND_PORT": str(free_port())}
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "healthcheck"], env=env, timeout=30, check=False
    )
    return result.returncode


async def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        return await counts(session_factory(engine))
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("command", "broker"), [("run", "refusing"), ("worker", "silent")])
async def test_a_process_waiting_for_rabbitmq_says_why_and_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path, command: str, broker: str
) -> None:
    # Formerly `run` exited 2 at once and `worker` after INBOUND_CONNECT_TIMEOUT: now both wait.
    assert inbound(env, "migrate").returncode == 0
    env["INBOUND_CONNECT_TIMEOUT"] = "2"
    if command == "worker":
        env["INBOUND_METRICS_PORT"] = env["INBOUND_PORT"]  # a worker's one listener
    base = f"http://127.0.0.1:{env['INBOUND_PORT']}"
    with silent_listener() as silent:
        port = silent if broker == "silent" else free_port()
        env["INBOUND_AMQP_URL"] = f"amqp://guest:secret-pw@127.0.0.1:{port}/"
        process: Inbound = await start_inbound(env, command, tmp_path / command)
        try:
            printed = await process.says("waiting for RabbitMQ")
            line = next(text for text in printed.splitlines() if "waiting for" in text)
            assert f"cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:{port}/" in line
            if broker == "silent":
                assert "no answer within 2 s" in line
            # Started (the stop signals' handlers are in place once it answers): alive.
            await process.says("listening on")
            assert (await get_json(base, "/healthz"))[0] == 200
            code, took = await process.terminate()
        finally:
            await process.kill()
    assert code == 0, process.logged()[-3000:]
    assert "secret-pw" not in process.printed() + process.logged()
    assert took < 10


async def test_serve_with_a_refused_login_still_exits_with_the_one_line(
    env: dict[str, str], amqp_url: str
) -> None:
    from yarl import URL

    assert inbound(env, "migrate").returncode == 0
    env["INBOUND_AMQP_URL"] = str(URL(amqp_url).with_password("not-the-pw-7"))
    result = inbound(env, "serve", timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused the login of user 'guest'" in lines[0]
    assert "not-the-pw-7" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
async def test_sigterm_while_starting_undoes_the_start_and_exits_cleanly(
    env: dict[str, str], tmp_path: Path, command: str
) -> None:
    # Formerly the stop signals' handlers went in only once started: a SIGTERM while the
    # process was still connecting killed it (exit -15) with nothing closed.
    assert inbound(env, "migrate").returncode == 0
    env["INBOUND_CONNECT_TIMEOUT"] = "30"  # still connecting when the signal comes
    env["INBOUND_SHUTDOWN_TIMEOUT"] = "5"
    env["INBOUND_SECRET_KEY"] = TEST_SECRET_KEY
    reached = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hung_broker(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept and say nothing, like a broker that hangs
        reached.set()

    server = await asyncio.start_server(hung_broker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env["INBOUND_AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{port}/"
    process = await start_inbound(env, command, tmp_path / command)
    try:
        # Connecting to RabbitMQ comes after the handlers: the process is starting now.
        await asyncio.wait_for(reached.wait(), 60)
        assert "listening on" not in process.printed()
        code, took = await process.terminate()
    finally:
        await process.kill()
        server.close()
        for writer in held:
            writer.close()
    assert code == 0, process.logged()[-3000:]
    assert "stopped while starting" in process.printed()
    assert took < 5 + 5
