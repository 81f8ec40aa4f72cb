"""A bounded shutdown: a real `inbound serve` / `inbound run` gets SIGTERM while RabbitMQ (and
the database) are stalled behind TCP proxies that keep the sockets open but forward nothing.
Every close on the way out must be bounded: the process exits within INBOUND_SHUTDOWN_TIMEOUT
and a small margin, with status 0 (before the fix a stalled channel close held `serve` ~30 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.integration.lifecycle_support import post_generic, start_inbound
from tests.integration.reliability_support import (
    SENDER,
    SERVICE_NUMBER,
    amqp_through,
    pg_url,
    proxied,
)
from tests.support.process import inbound

__all__ = ["pg_url"]  # a fixture

SHUTDOWN_TIMEOUT = 5.0
# Process exit, the steps that start with the budget spent (a fraction of a second each), and a
# loaded 2-core machine.
MARGIN = 4.0


@pytest.mark.parametrize(
    ("command", "stalled"),
    [("serve", "rabbitmq"), ("serve", "rabbitmq and database"), ("run", "rabbitmq and database")],
)
async def test_sigterm_with_stalled_peers_exits_within_the_shutdown_timeout(
    env: dict[str, str], pg_url: str, amqp_url: str, tmp_path: Path, command: str, stalled: str
) -> None:
    env["INBOUND_DATABASE_URL"] = pg_url
    env["INBOUND_SECRET_KEY"] = TEST_SECRET_KEY
    env["INBOUND_SHUTDOWN_TIMEOUT"] = str(SHUTDOWN_TIMEOUT)
    env["INBOUND_SPOOL_AFTER"] = "1"
    assert inbound(env, "migrate").returncode == 0
    base = f"http://127.0.0.1:{env['INBOUND_PORT']}"
    async with (
        proxied(amqp_url, 5672) as (rabbit, _),
        proxied(pg_url, 5432) as (database, database_url),
    ):
        env["INBOUND_AMQP_URL"] = amqp_through(amqp_url, rabbit)
        env["INBOUND_DATABASE_URL"] = database_url
        process = await start_inbound(env, command, tmp_path / command)
        try:
            await process.says("listening on")
            if command == "run":
                await process.says("rules worker consuming")
            payload = {"id": "before-stall", "from": SENDER, "to": SERVICE_NUMBER, "text": "yes"}
            assert await post_generic(base, payload) == 202
            rabbit.stall()
            if "database" in stalled:
                database.stall()
            code, took = await process.terminate(within=120)
        finally:
            await process.kill()
            rabbit.resume()
            database.resume()
    print(f"\n{command}, {stalled} stalled: exited {code} {took:.1f} s after SIGTERM")
    assert code == 0, process.logged()[-3000:]
    assert took < SHUTDOWN_TIMEOUT + MARGIN, process.logged()[-3000:]
    assert '"event":"stop_step_abandoned"' in process.logged()  # it did wait, then moved on
