"""Real `inbound` processes for the start-up and shutdown tests: started with their output in
files, asked over HTTP, sent real signals, timed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
from yarl import URL

from tests.support.process import INBOUND
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

# The generic provider's secret in the `env` fixture (tests/integration/conftest.py).
CLI_GENERIC_SECRET = "cli-test-secret"


@dataclass
class Inbound:
    """A running `inbound <command>`; stdout and stderr go to files (never a full pipe)."""

    process: asyncio.subprocess.Process
    out: Path
    err: Path

    def printed(self) -> str:
        return self.out.read_text()

    def logged(self) -> str:
        return self.err.read_text()

    async def says(self, text: str, within: float = 60) -> str:
        """Wait until stdout has `text`; fail at once if the process exits first."""

        async def read() -> str:
            return self.printed()

        def done(printed: str) -> bool:
            return text in printed or self.process.returncode is not None

        printed = await eventually(read, done, within=within)
        assert text in printed, f"exited {self.process.returncode}: {self.logged()[-3000:]}"
        return printed

    async def terminate(self, within: float = 60) -> tuple[int, float]:
        """SIGTERM; return the exit status and the seconds it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), within)
        return code, time.monotonic() - started

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start_inbound(env: dict[str, str], command: str, logs: Path, *args: str) -> Inbound:
    """Start `inbound <command> <args>` (it must be migrated already)."""
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    with out.open("w") as stdout, err.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            INBOUND, command, *args, env=env, stdout=stdout, stderr=stderr
        )
    return Inbound(process, out, err)


async def get_json(base_url: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(base_url + path) as response:
        return response.status, await response.json(content_type=None)


async def post_generic(
    base_url: str, payload: dict[str, str], secret: str = CLI_GENERIC_SECRET, within: float = 30
) -> int:
    """Post a signed webhook to /webhooks/generic; the answer's status."""
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Inbound-Signature": signature}
    client_timeout = aiohttp.ClientTimeout(total=within)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as http,
        http.post(base_url + "/webhooks/generic", data=body, headers=headers) as response,
    ):
        return response.status


async def closed_proxy(amqp_url: str) -> TcpProxy:
    """A proxy in front of RabbitMQ that refuses connections until `restore()`: its port is
    known and nobody listens on it (RabbitMQ restarting, as far as a client can tell)."""
    target = URL(amqp_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5672)
    await proxy.start()
    await proxy.cut()
    return proxy


async def drain_ids(amqp_url: str, queue: str) -> list[str]:
    """Take every ready message off a queue (acked); their message ids, duplicates included."""
    connection = await aio_pika.connect(amqp_url)
    ids: list[str] = []
    async with connection:
        channel = await connection.channel()
        declared = await channel.get_queue(queue, ensure=True)
        while (got := await declared.get(fail=False, timeout=5)) is not None:
            ids.append(got.message_id or "")
            await got.ack()
    return ids
