"""Fairness between services: one service's hanging callback endpoint, or its flood of
messages, must not hold up another service's callbacks (issue 14).

    .venv/bin/python bench/fairness.py [--seconds 6] [--rate 20] [--flood 600]
                                       [--database-url postgresql+asyncpg://…/test]

Two services, A and B, each with a keyword rule whose outcome is POSTed to a callback receiver
in this process. A real `inbound run --webhooks-only` (its own RabbitMQ namespace and a fresh
database per case) takes signed webhooks for both, B's at a steady rate (open loop), and the
receiver times each of B's callbacks from the moment the rules worker decided it (the event's
`decided_at`, when its action was written) to the moment the POST arrives. Three cases:

- quiet: A sends at B's rate and its endpoint answers at once (the figure without the fault);
- A hangs: the same, but A's endpoint never answers: every attempt runs to the callback timeout;
- A floods: A sends `--flood` messages at once as B's steady traffic starts; A answers at once.

`measure()` returns the figures (B's p50 and p99 in each case, the ratios to quiet, and B's
webhook → callback p99 for reference), so `bench/run.py` can call it; run alone, it prints them.
With no `--database-url` each case gets a fresh SQLite file; with a PostgreSQL server URL, a
fresh database on it (dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url

from inbound.broker.topology import BrokerNames, delete
from inbound.config import Settings

INBOUND = str(Path(sys.executable).parent / "inbound")
GENERIC_SECRET = "bench-fairness-secret"  # noqa: S105 (a local test value)
NUMBERS = {"a": "+447700900701", "b": "+447700900702"}
RULES = """
service:
  id: {id}
  name: Service {id}
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
rules:
  - name: cancel
    keywords: [cancel]
    action: cancel
"""
CASES = ("quiet", "a_hangs", "a_floods")
RETRY_DELAYS: list[float] = Settings.model_fields["retry_delays"].get_default(
    call_default_factory=True
)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of the values (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Receiver:
    """Both services' callback endpoints: A's answers at once or hangs, B's answers at once and
    times each callback."""

    a_hangs: bool = False
    hang_for: float = 60.0
    url: str = ""
    b_latency_ms: dict[str, float] = field(default_factory=dict)  # by message id
    b_arrived: dict[str, float] = field(default_factory=dict)  # wall clock, by message id
    a_posts: int = 0

    async def service_a(self, request: web.Request) -> web.Response:
        await request.read()
        self.a_posts += 1
        if self.a_hangs:
            await asyncio.sleep(self.hang_for)  # past the callback timeout: inbound gives up
        return web.json_response({"ok": True})

    async def service_b(self, request: web.Request) -> web.Response:
        arrived = time.time()
        event = json.loads(await request.read())
        decided = datetime.fromisoformat(event["decided_at"]).timestamp()
        message_id = event["message"]["id"]
        self.b_latency_ms.setdefault(message_id, (arrived - decided) * 1000)
        self.b_arrived.setdefault(message_id, arrived)
        return web.json_response({"ok": True})


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/a", receiver.service_a)
    app.router.add_post("/b", receiver.service_b)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_inbound(env: dict[str, str], logs: Path) -> Iterator[None]:
    """`inbound migrate`, then `inbound run --webhooks-only` until it listens; SIGTERM after."""
    done = subprocess.run(
        [INBOUND, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"inbound migrate failed: {done.stderr[-2000:]}")
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [INBOUND, "run", "--webhooks-only"], env=env, stdout=stdout, stderr=stderr
        )
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in out.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"inbound run did not start: {err.read_text()[-2000:]}")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def signed(payload: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    mac = hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Inbound-Signature": f"sha256={mac}"}


async def post(http: aiohttp.ClientSession, base: str, service: str, index: int) -> str:
    """One signed webhook to a service's number; returns its message id."""
    message_id = f"fair-{service}-{index}-{uuid.uuid4().hex[:8]}"
    sender = f"+4477009{(index % 90000) + 10000:05d}"
    payload = {"id": message_id, "from": sender, "to": NUMBERS[service], "text": "cancel"}
    body, headers = signed(payload)
    async with http.post(f"{base}/webhooks/generic", data=body, headers=headers) as answer:
        if answer.status != 202:
            raise RuntimeError(f"webhook answered {answer.status}: {await answer.text()}")
    return message_id


async def drive(base: str, case: str, seconds: float, rate: float, flood: int) -> dict[str, float]:
    """B at `rate` a second for `seconds` (open loop); A alongside it, or all at once (flood).
    Returns B's message ids with the time each webhook was sent."""
    sent: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks: list[asyncio.Task[Any]] = []

        async def b(index: int) -> None:
            started = time.time()
            sent[await post(http, base, "b", index)] = started

        if case == "a_floods":
            tasks.extend(asyncio.create_task(post(http, base, "a", i)) for i in range(flood))
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index in range(round(seconds * rate)):
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            tasks.append(asyncio.create_task(b(index)))
            if case != "a_floods":
                tasks.append(asyncio.create_task(post(http, base, "a", index)))
        await asyncio.gather(*tasks)
    return sent


async def _admin(server_url: str, statement: str) -> None:
    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(database_url: str | None, folder: Path) -> AsyncIterator[str]:
    """A new SQLite file, or a new database on the given PostgreSQL server (dropped after)."""
    if database_url is None or make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / f'fair-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"bench_fair_{uuid.uuid4().hex[:10]}"
    await _admin(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database_url).set(database=name).render_as_string(False)
    finally:
        await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_case(
    case: str,
    *,
    amqp_url: str,
    database_url: str | None,
    folder: Path,
    seconds: float,
    rate: float,
    flood: int,
    callback_timeout: float,
    settle_within: float,
) -> dict[str, float]:
    """One case on a fresh database and namespace; B's latency figures."""
    namespace = f"bench-fair-{uuid.uuid4().hex[:10]}"
    rules = folder / f"rules-{case}"
    rules.mkdir(parents=True)
    receiver = Receiver(a_hangs=case == "a_hangs", hang_for=callback_timeout + 30)
    async with receiving(receiver), fresh_database(database_url, folder) as database:
        for service in ("a", "b"):
            (rules / f"{service}.yaml").write_text(
                RULES.format(id=service, number=NUMBERS[service], url=f"{receiver.url}/{service}")
            )
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")},
            "INBOUND_DATABASE_URL": database,
            "INBOUND_AMQP_URL": amqp_url,
            "INBOUND_AMQP_NAMESPACE": namespace,
            "INBOUND_RULES_DIR": str(rules),
            "INBOUND_GENERIC_SECRET": GENERIC_SECRET,
            "INBOUND_HOST": "127.0.0.1",
            "INBOUND_PORT": str(port),
            "INBOUND_CALLBACK_TIMEOUT": str(callback_timeout),
            "INBOUND_CALLBACK_MAX_ATTEMPTS": "1000",
            "INBOUND_SHUTDOWN_TIMEOUT": "3",
            "INBOUND_LOG_LEVEL": "WARNING",
            "INBOUND_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        }
        try:
            with running_inbound(env, folder / case):
                sent = await drive(f"http://127.0.0.1:{port}", case, seconds, rate, flood)
                deadline = time.monotonic() + settle_within
                while len(set(sent) & set(receiver.b_latency_ms)) < len(sent):
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
        finally:
            connection = await aio_pika.connect(amqp_url)
            async with connection:
                await delete(await connection.channel(), BrokerNames(namespace), RETRY_DELAYS)
    latencies = [receiver.b_latency_ms[m] for m in sent if m in receiver.b_latency_ms]
    end_to_end = [(receiver.b_arrived[m] - sent[m]) * 1000 for m in sent if m in receiver.b_arrived]
    return {
        "b_sent": len(sent),
        "b_missing": len(sent) - len(latencies),
        "b_p50_ms": round(percentile(latencies, 0.50), 1),
        "b_p99_ms": round(percentile(latencies, 0.99), 1),
        "b_max_ms": round(max(latencies, default=0.0), 1),
        "b_webhook_to_callback_p99_ms": round(percentile(end_to_end, 0.99), 1),
        "a_posts": receiver.a_posts,
    }


async def measure_async(
    amqp_url: str,
    database_url: str | None = None,
    *,
    seconds: float = 6.0,
    rate: float = 20.0,
    flood: int = 600,
    callback_timeout: float = 3.0,
    cases: tuple[str, ...] = CASES,
) -> dict[str, Any]:
    """Run the cases one after another; see `measure`."""
    results: dict[str, Any] = {
        "settings": {
            "seconds": seconds,
            "rate_per_s": rate,
            "flood": flood,
            "callback_timeout_s": callback_timeout,
            "database": "sqlite"
            if database_url is None
            else make_url(database_url).get_backend_name(),
        }
    }
    with tempfile.TemporaryDirectory(prefix="inbound-fairness-") as tmp:
        for case in cases:
            results[case] = await run_case(
                case,
                amqp_url=amqp_url,
                database_url=database_url,
                folder=Path(tmp),
                seconds=seconds,
                rate=rate,
                flood=flood,
                callback_timeout=callback_timeout,
                settle_within=seconds + 60,
            )
    quiet = results.get("quiet")
    for case in cases:
        if quiet and quiet["b_p99_ms"] > 0 and case != "quiet":
            results[case]["p99_ratio_to_quiet"] = round(
                results[case]["b_p99_ms"] / quiet["b_p99_ms"], 2
            )
    return results


def measure(amqp_url: str, database_url: str | None = None, **options: Any) -> dict[str, Any]:
    """B's callback latency (decided → POST received), p50/p99 in ms, without a fault
    ("quiet"), with A's endpoint hanging ("a_hangs") and with A flooding ("a_floods"), each
    with its p99's ratio to quiet. Options: seconds, rate, flood, callback_timeout, cases.

    A's endpoint answering at once in "quiet" means the worker delivers A's callbacks too, so
    on a busy machine "quiet" can be the slower case: the fault takes A's work away."""
    result: dict[str, Any] = asyncio.run(measure_async(amqp_url, database_url, **options))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of B's traffic")
    parser.add_argument("--rate", type=float, default=20.0, help="B's (and A's) messages a second")
    parser.add_argument("--flood", type=int, default=600, help="A's messages sent at once")
    parser.add_argument("--callback-timeout", type=float, default=3.0)
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("INBOUND_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("INBOUND_BENCH_DATABASE_URL"),
        help="a PostgreSQL server URL (a fresh database per case); default a SQLite file",
    )
    args = parser.parse_args()
    results = measure(
        args.amqp_url,
        args.database_url,
        seconds=args.seconds,
        rate=args.rate,
        flood=args.flood,
        callback_timeout=args.callback_timeout,
    )
    print(f"fairness ({results['settings']}): service B's callbacks, decided → received")
    print(f"{'case':<10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'×quiet':>7} {'missing':>8}")
    for case in CASES:
        figures = results[case]
        print(
            f"{case:<10} {figures['b_p50_ms']:>8} {figures['b_p99_ms']:>8}"
            f" {figures['b_max_ms']:>8} {figures.get('p99_ratio_to_quiet', 1.0):>7}"
            f" {figures['b_missing']:>8}"
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
