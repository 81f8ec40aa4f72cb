"""The whole benchmark in one run on this machine: `make bench` (see bench/README.md).

    .venv/bin/python bench/run.py [--quick] [--runs 3] [--seconds 5] [--messages 5000]
                                  [--soak 100000] [--loader auto|wrk|aiohttp]
                                  [--prompts 1000000] [--prompt-import 100000]
                                  [--review-messages 1000000] [--review-items 100000]
                                  [--only ingest|latency|prompts|review]

Measures, against baselines measured in the same run with the same load:
  1. HTTP baseline: a minimal aiohttp handler that parses the form and publishes with a confirm;
  2. ingest: signed Twilio webhooks into `inbound serve` (requests a second, p50/p99);
  3. end to end: N messages pre-loaded on the queue, processed by 1, 2 and 4 `inbound worker`
     processes on PostgreSQL and by one on SQLite (messages a second), against a consumer
     that only acks;
  4. the rule engine alone, 20 rules (matches a second), against normalise + dict lookup;
  5. prompts (issue 15): a reply's prompt lookup + match among 1,000,000 open prompts against
     the same with none (p50/p99), end to end with replies to them against the same replies
     with none, and 100,000 prompts imported by the API and by CSV against the database's own
     insert of as many;
  6. review queue (issue 16): with 1,000,000 stored messages and 100,000 open items, the queue,
     a filtered queue, an item with a 200-message conversation (p50/p95) and a 10,000-row CSV,
     against the same pages of a database holding one item.
Prints a table with each figure, its ratio to its baseline and each process's peak memory, and
writes bench/results/latest.json. All traffic goes to this machine only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aio_pika
import asyncpg  # type: ignore[import-untyped]
import fairness
import latency
import prompt_bench
import review_bench
import yaml
from cryptography.fernet import Fernet
from load import parse_wrk, wrk_command
from sqlalchemy.engine import make_url

from inbound import runtime
from inbound.broker.publisher import Publisher
from inbound.broker.topology import BrokerNames, declare, delete
from inbound.config import Settings
from inbound.message import InboundMessage
from inbound.rules.match import Matcher
from inbound.rules.model import Rule, Service, ServiceRules
from inbound.rules.normalise import normalise
from rules import rate, replies, twenty_rules

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent
INBOUND = str(BIN / "inbound")
PYTHON = sys.executable

TWILIO_TOKEN = "bench-twilio-auth-token"  # noqa: S105 (a local test value)
TWILIO_ACCOUNT = "AC" + "b" * 32
OUR_NUMBER = "+447700900000"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
RETRY_DELAYS: list[float] = Settings.model_fields["retry_delays"].get_default(
    call_default_factory=True
)


@dataclass(frozen=True)
class Plan:
    """How much to measure: `--quick` for a smoke run, defaults for a few minutes."""

    runs: int
    seconds: float
    warmup: float
    concurrency: int
    messages: int
    workers: list[int]
    rule_seconds: float
    prefetch: int
    soak: int
    latency_rates: list[int] = field(default_factory=lambda: [200, 500, 1000])
    latency_seconds: float = 12.0  # each rate, after a warm-up at the lowest
    latency_drain: float = 30.0  # at most this long after a rate for its last callbacks
    fairness_seconds: float = 6.0  # B's traffic in each bench/fairness.py case
    fairness_flood: int = 600  # A's messages sent at once in the flood case
    prompts: int = 1_000_000  # open prompts loaded for the prompts section
    prompt_lookups: int = 2_000  # replies whose lookup + match is timed, on each database
    # End-to-end pairs (with prompts, without), alternated. Five, not three: this machine's
    # speed drifts by a quarter within a few minutes (the same run without prompts kept 1,338-
    # 2,073 msg/s in one bench), so one pair's ratio does too; the median of five is steadier.
    prompt_runs: int = 5
    prompt_messages: int = 20_000  # messages in each of those runs (see plan_from)
    prompt_batches: int = 40  # a worker's batches alone, alternated batch by batch, on each
    prompt_import: int = 100_000  # prompts imported through the API, and from a CSV file
    prompt_batch: int = 10_000  # prompts a POST /api/prompts
    review_messages: int = 1_000_000  # stored messages for the review section
    review_items: int = 100_000  # open review items among them
    review_conversation: int = 200  # messages from the number of the item page timed
    review_requests: int = 200  # timed GETs of each page, after the warm-up
    review_warmup: int = 20  # discarded GETs of each page first
    review_csv: int = 5  # timed downloads of the CSV (seconds each at full size)


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def status_kib(pid: int, field_name: str) -> int | None:
    """A memory figure (VmHWM: peak resident, VmRSS: resident now) of a live process, in KiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a live process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_description() -> dict[str, Any]:
    """The CPU model and cache sizes (from /proc/cpuinfo and sysfs), so that runs on different
    machines can be told apart: the same code's ratio differs with them (docs/performance.md)."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    for line in cpuinfo:
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    caches = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
            shared = (index / "shared_cpu_list").read_text().strip()
        except OSError:
            continue
        name = f"L{level}" + {"Data": "d", "Instruction": "i"}.get(kind, "")
        caches[name] = f"{size} (cpus {shared})"
    flags = next((line for line in cpuinfo if line.startswith("flags")), "")
    return {
        "model": model,
        "cores": os.cpu_count(),
        "caches": caches,
        "hypervisor": "hypervisor" in flags.split(),
        "clocksource": read_or("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
    }


def read_or(path: str, default: str = "unknown") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def describe_cpu(cpu: dict[str, Any]) -> str:
    caches = ", ".join(f"{name} {size}" for name, size in cpu["caches"].items())
    return f"{cpu['model']}, {cpu['cores']} cores; {caches}; clock {cpu['clocksource']}"


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


@dataclass
class Proc:
    """A process under test, its output in files so it can never block on a pipe."""

    name: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    peak_kib: int | None = None

    @classmethod
    def start(
        cls, name: str, command: list[str], env: dict[str, str], logs: Path, ready: str | None
    ) -> Proc:
        started = cls.launch(name, command, env, logs)
        if ready is not None:
            started.wait_for(ready)
        return started

    @classmethod
    def launch(cls, name: str, command: list[str], env: dict[str, str], logs: Path) -> Proc:
        stdout, stderr = logs / f"{name}.out", logs / f"{name}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        return cls(name, process, stdout, stderr)

    def wait_for(self, ready: str) -> None:
        """Wait until the process printed `ready`; raise with its error output if it can't."""
        deadline = time.monotonic() + 60
        while ready not in self.stdout.read_text():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}: {self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} never became ready: {self.tail()}")
            time.sleep(0.05)

    def ready(self, line: str) -> bool:
        """True once the process printed `line`; raises with its error output if it exited."""
        if line in self.stdout.read_text():
            return True
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.process.returncode}: {self.tail()}")
        return False

    def tail(self) -> str:
        return self.stderr.read_text()[-2000:]

    def rss_kib(self) -> int | None:
        return status_kib(self.process.pid, "VmRSS")

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the peak resident memory (KiB) read just before."""
        if self.process.poll() is None:
            self.peak_kib = status_kib(self.process.pid, "VmHWM")
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.peak_kib


def run_to_end(
    command: list[str], timeout: float, env: dict[str, str] | None = None
) -> tuple[str, int]:
    """Run a command to completion; its stdout and peak resident memory (KiB), from wait4."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"{command[0]} did not finish within {timeout:g} s")
            time.sleep(0.05)
        assert process.stderr is not None
        error = process.stderr.read().decode(errors="replace")
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {process.returncode}: {error[-2000:]}")
    return text, usage.ru_maxrss  # Linux reports KiB


# --- RabbitMQ and databases --------------------------------------------------------------------


class Services:
    """Async helpers for RabbitMQ and PostgreSQL, run on one event loop from synchronous code."""

    def __init__(self, amqp_url: str, postgres_url: str) -> None:
        self.amqp_url = amqp_url
        self.postgres_url = postgres_url
        self._loop = asyncio.Runner()
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self.namespaces: list[str] = []
        self.databases: list[str] = []

    def run(self, coroutine: Any) -> Any:
        try:
            return self._loop.run(coroutine)
        finally:
            # The loop is stopped between runs, so nothing answers RabbitMQ's heartbeats: a
            # connection kept across a long section (latency, fairness) was found closed by the
            # broker. One connection per run.
            if self._connection is not None:
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):
                    self._loop.run(connection.close())

    async def _channel(self) -> aio_pika.abc.AbstractChannel:
        if self._connection is None:
            self._connection = await aio_pika.connect(self.amqp_url)
        return await self._connection.channel()

    def namespace(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:10]}"
        self.namespaces.append(name)
        return name

    def purge(self, namespace: str) -> None:
        async def purge() -> None:
            channel = await self._channel()
            topology = await declare(channel, BrokerNames(namespace), 5)
            await topology.received.purge()
            await channel.close()

        self.run(purge())

    def preload(
        self,
        namespace: str,
        messages: int,
        texts: list[str],
        senders: Sequence[str] | None = None,
    ) -> float:
        """Publish `messages` distinct messages, confirmed; returns messages a second. From
        10,000 random numbers, or from `senders` in turn."""

        async def preload() -> float:
            await (await self._channel()).close()  # opens the connection if need be
            assert self._connection is not None
            # Only .channel() is used, which a plain connection has: the bench never reconnects.
            connection = cast("aio_pika.abc.AbstractRobustConnection", self._connection)
            publisher = await Publisher.open(connection, BrokerNames(namespace), 5, 30)
            numbers = random.Random(8)
            started = time.perf_counter()
            batch = 500
            for first in range(0, messages, batch):
                await asyncio.gather(
                    *(
                        publisher.publish(
                            InboundMessage(
                                provider="twilio",
                                provider_message_id=f"SM{uuid.uuid4().hex}",
                                sender=senders[i % len(senders)]
                                if senders
                                else f"+4477009{numbers.randrange(10_000):05d}"[:13],
                                recipient=OUR_NUMBER,
                                text=texts[i % len(texts)],
                                received_at=datetime.now(UTC),
                            )
                        )
                        for i in range(first, min(first + batch, messages))
                    )
                )
            await publisher.close()
            return messages / (time.perf_counter() - started)

        rate: float = self.run(preload())
        return rate

    def create_postgres(self, migrate: Callable[[str], None]) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        self.run(self._admin(f'CREATE DATABASE "{name}"'))
        self.databases.append(name)
        url = make_url(self.postgres_url).set(database=name).render_as_string(False)
        migrate(url)
        return url

    def drop_postgres(self, url: str) -> None:
        """Drop a database `create_postgres` made, now rather than at the end of the run."""
        name = make_url(url).database
        if name in self.databases:
            self.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.databases.remove(name)

    async def _admin(self, statement: str) -> None:
        dsn = make_url(self.postgres_url).set(drivername="postgresql").render_as_string(False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def counter(self, database_url: str) -> Callable[[], int]:
        """A function that counts stored messages, cheaply enough to call ten times a second."""
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            assert url.database is not None
            db = sqlite3.connect(url.database, timeout=5)
            return lambda: int(db.execute("SELECT count(*) FROM messages").fetchone()[0])
        dsn = url.set(drivername="postgresql").render_as_string(False)
        connection = self.run(asyncpg.connect(dsn))

        def count() -> int:
            value: int = self.run(connection.fetchval("SELECT count(*) FROM messages"))
            return value

        return count

    def close(self) -> None:
        async def clean() -> None:
            if self.namespaces:
                channel = await self._channel()
                for namespace in self.namespaces:
                    await delete(channel, BrokerNames(namespace), RETRY_DELAYS)
            if self._connection is not None:
                await self._connection.close()
            for name in self.databases:
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        try:
            self.run(clean())
        finally:
            self._loop.close()


# --- the measurements --------------------------------------------------------------------------


def twilio_signature(url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's scheme, as the tests write it: HMAC-SHA1 of URL + sorted name/values."""
    message = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(TWILIO_TOKEN.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def write_requests(path: Path, url: str, texts: list[str], count: int = 2000) -> None:
    """`count` distinct signed Twilio webhooks for `url`, two lines each (body, signature)."""
    numbers = random.Random(7)
    lines = []
    for i in range(count):
        sid = f"SM{uuid.UUID(int=numbers.getrandbits(128)).hex}"
        params = [
            ("ToCountry", "GB"),
            ("SmsMessageSid", sid),
            ("NumMedia", "0"),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("Body", texts[i % len(texts)]),
            ("To", OUR_NUMBER),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", TWILIO_ACCOUNT),
            ("From", f"+4477009{numbers.randrange(100, 999)}"),
            ("ApiVersion", "2010-04-01"),
        ]
        lines += [urllib.parse.urlencode(params), twilio_signature(url, params)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def load_command(
    loader: str, url: str, requests: Path, concurrency: int, seconds: float, warmup: float
) -> list[str]:
    if loader == "wrk":
        return wrk_command(url, requests, concurrency, seconds)
    return [
        PYTHON,
        str(HERE / "load.py"),
        url,
        str(requests),
        f"--concurrency={concurrency}",
        f"--seconds={seconds}",
        f"--warmup={warmup}",
    ]


def drive(
    loader: str, url: str, requests: Path, plan: Plan, seconds: float, warmup: float
) -> tuple[dict[str, float], int]:
    """One load run; wrk has no warm-up of its own, so it gets a separate, discarded run."""
    if loader == "wrk" and warmup > 0:
        run_to_end(wrk_command(url, requests, plan.concurrency, warmup), timeout=warmup + 60)
        warmup = 0
    command = load_command(loader, url, requests, plan.concurrency, seconds, warmup)
    output, peak = run_to_end(command, timeout=seconds + warmup + 60)
    result = parse_wrk(output) if loader == "wrk" else json.loads(output.splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result, peak


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


@dataclass
class Report:
    """Figures, their baselines and peak memory, in the order the table prints them."""

    figures: dict[str, Any] = field(default_factory=dict)
    memory_kib: dict[str, int | None] = field(default_factory=dict)

    def peak(self, name: str, kib: int | None) -> None:
        previous = self.memory_kib.get(name)
        if name not in self.memory_kib or (kib is not None and (previous or 0) < kib):
            self.memory_kib[name] = kib


def inbound_env(base: dict[str, str], **settings: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    return {**clean, **base, **{f"INBOUND_{k.upper()}": v for k, v in settings.items()}}


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [INBOUND, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"inbound migrate failed: {done.stderr[-2000:]}")


def serve_env(
    base_env: dict[str, str], namespace: str, database: Path, port: int, **settings: str
) -> dict[str, str]:
    """The environment of an `inbound serve` taking signed Twilio webhooks, its SQLite migrated."""
    env = inbound_env(
        base_env,
        amqp_namespace=namespace,
        database_url=f"sqlite+aiosqlite:///{database}",
        host="127.0.0.1",
        port=str(port),
        twilio_auth_token=TWILIO_TOKEN,
        twilio_account_sid=TWILIO_ACCOUNT,
        **settings,
    )
    migrate(env)
    return env


def measure_http(
    services: Services,
    plan: Plan,
    loader: str,
    base_env: dict[str, str],
    work: Path,
    texts: list[str],
    report: Report,
) -> None:
    """Baseline and ingest, runs alternated so drift on the machine touches both alike."""
    say(
        f"HTTP: baseline and ingest, {plan.runs} x {plan.seconds:g} s, "
        f"{plan.concurrency} in flight, loader {loader}"
    )
    base_ns, ingest_ns = services.namespace(), services.namespace()
    base_port, ingest_port = free_port(), free_port()
    env = serve_env(base_env, ingest_ns, work / "serve.db", ingest_port)
    baseline = Proc.start(
        "baseline-http",
        [
            PYTHON,
            str(HERE / "baseline.py"),
            "serve",
            f"--port={base_port}",
            f"--amqp-url={services.amqp_url}",
            f"--namespace={base_ns}",
        ],
        env,
        work,
        ready="listening on",
    )
    serve = Proc.start("inbound-serve", [INBOUND, "serve"], env, work, ready="listening on")
    targets = {
        "baseline_http": (baseline, base_ns, f"http://127.0.0.1:{base_port}/webhooks/twilio"),
        "ingest": (serve, ingest_ns, f"http://127.0.0.1:{ingest_port}/webhooks/twilio"),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    try:
        files = {}
        for name, (_, _, url) in targets.items():
            files[name] = work / f"{name}.requests"
            write_requests(files[name], url, texts)
        for name, (_, namespace, url) in targets.items():
            drive(loader, url, files[name], plan, seconds=plan.warmup, warmup=0)
            services.purge(namespace)
        for _ in range(plan.runs):
            for name, (proc, namespace, url) in targets.items():
                cpu_before = cpu_seconds(proc.process.pid)
                busy_before, all_before = machine_busy()
                result, peak = drive(loader, url, files[name], plan, plan.seconds, 0)
                cpu = cpu_seconds(proc.process.pid) - cpu_before
                busy_after, all_after = machine_busy()
                # Where the time went: the server's CPU a request, and how busy the whole
                # machine was (1.0 = every core busy), to tell a CPU-bound server from a wait.
                result["server_cpu_ms"] = 1000 * cpu / max(result["requests"], 1)
                result["server_busy"] = cpu / result["seconds"]
                result["machine_busy"] = (busy_after - busy_before) / (all_after - all_before)
                report.peak(f"load generator ({loader})", peak)
                runs[name].append(result)
                services.purge(namespace)
    finally:
        for proc, _, _ in targets.values():
            report.peak(proc.name, proc.stop())
    for name, results in runs.items():
        report.figures[name] = {
            "rps": median_of(results, "rps"),
            "p50_ms": median_of(results, "p50_ms"),
            "p99_ms": median_of(results, "p99_ms"),
            "server_cpu_ms": median_of(results, "server_cpu_ms"),
            "server_busy": median_of(results, "server_busy"),
            "machine_busy": median_of(results, "machine_busy"),
            "errors": sum(r["errors"] + r["non_2xx"] for r in results),
            "runs": results,
        }
    # Each run's ratio (the two servers were measured one after the other in it) and their
    # median: with --runs 5, the figure the ingest target is stated in.
    pairs = zip(runs["ingest"], runs["baseline_http"], strict=True)
    ratios = [ingest["rps"] / base["rps"] for ingest, base in pairs]
    report.figures["ingest"]["ratio_runs"] = ratios
    report.figures["ingest"]["ratio_median"] = statistics.median(ratios)
    say(
        "ingest / baseline, each run: "
        + ", ".join(f"{ratio:.2f}" for ratio in ratios)
        + f"; median of {len(ratios)}: {statistics.median(ratios):.2f}"
    )


def measure_sign_in_flood(
    services: Services,
    plan: Plan,
    loader: str,
    base_env: dict[str, str],
    work: Path,
    texts: list[str],
    report: Report,
) -> None:
    """Webhook latency while the sign-in page is flooded: with the staff pages in the same
    process and port, and with `serve --webhooks-only` beside a separate `inbound review`."""
    say(f"sign-in flood: webhooks quiet and flooded, {plan.runs} x {plan.seconds:g} s each")
    namespace = services.namespace()
    shared_port, webhooks_port, review_port = free_port(), free_port(), free_port()
    env = serve_env(
        base_env,
        namespace,
        work / "flood.db",
        shared_port,
        # The worst case: every attempt checked (many addresses, many accounts). From one
        # address, throttling refuses a flood before any password is hashed.
        sign_in_limit="1000000",
    )
    shared = Proc.start("serve (one port)", [INBOUND, "serve"], env, work, ready="listening on")
    apart = Proc.start(
        "serve --webhooks-only",
        [INBOUND, "serve", "--webhooks-only"],
        {**env, "INBOUND_PORT": str(webhooks_port)},
        work,
        ready="listening on",
    )
    review = Proc.start(
        "review",
        [INBOUND, "review"],
        {**env, "INBOUND_PORT": str(review_port)},
        work,
        ready="listening on",
    )
    # (webhook port, where the flood goes or None)
    cases = {
        "quiet": (shared_port, None),
        "flooded, same process": (shared_port, shared_port),
        "flooded, --webhooks-only + review": (webhooks_port, review_port),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    floods: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    try:
        files = {}
        for port in (shared_port, webhooks_port):
            files[port] = work / f"flood-{port}.requests"
            write_requests(files[port], f"http://127.0.0.1:{port}/webhooks/twilio", texts)
            drive(
                loader,
                f"http://127.0.0.1:{port}/webhooks/twilio",
                files[port],
                plan,
                seconds=plan.warmup,
                warmup=0,
            )
            services.purge(namespace)
        for _ in range(plan.runs):
            for name, (port, target) in cases.items():
                flooder = None
                if target is not None:
                    flooder = subprocess.Popen(
                        [
                            PYTHON,
                            str(HERE / "flood.py"),
                            f"http://127.0.0.1:{target}",
                            "--loops=6",
                            f"--seconds={plan.seconds + 2}",
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    time.sleep(1.0)  # the flood is under way before the measured run
                url = f"http://127.0.0.1:{port}/webhooks/twilio"
                result, _ = drive(loader, url, files[port], plan, plan.seconds, 0)
                runs[name].append(result)
                if flooder is not None:
                    output, _ = flooder.communicate(timeout=plan.seconds + 60)
                    floods[name].append(json.loads(output.splitlines()[-1]))
                services.purge(namespace)
    finally:
        for proc in (shared, apart, review):
            report.peak(proc.name, proc.stop())
    report.figures["sign_in_flood"] = {
        name: {
            "rps": median_of(results, "rps"),
            "p50_ms": median_of(results, "p50_ms"),
            "p99_ms": median_of(results, "p99_ms"),
            "sign_in_attempts_per_s": statistics.median(
                f["attempts"] / f["seconds"] for f in floods[name]
            )
            if floods[name]
            else 0.0,
            "sign_in_statuses": floods[name][-1]["statuses"] if floods[name] else {},
            "runs": results,
        }
        for name, results in runs.items()
    }


def latency_requests(url: str, count: int, prefix: str) -> list[tuple[str, bytes, str]]:
    """`count` signed Twilio webhooks saying "yes" (the rule that answers with a callback),
    each with its own message SID, from a thousand senders."""
    numbers = random.Random(prefix)
    out = []
    for i in range(count):
        sid = f"SM{prefix}{i:0{32 - len(prefix)}d}"
        params = [
            ("MessageSid", sid),
            ("SmsMessageSid", sid),
            ("AccountSid", TWILIO_ACCOUNT),
            ("From", f"+4477009{numbers.randrange(1000):05d}"[:13]),
            ("To", OUR_NUMBER),
            ("Body", "yes"),
            ("NumSegments", "1"),
        ]
        out.append((sid, urllib.parse.urlencode(params).encode(), twilio_signature(url, params)))
    return out


def write_latency_rules(folder: Path, callback_url: str) -> None:
    """One service whose "yes" is confirmed with a callback to the bench's receiver."""
    rules = ServiceRules(
        service=Service(
            id="latency",
            name="Latency",
            region="GB",
            numbers=[OUR_NUMBER],
            callback={"url": callback_url},
        ),
        rules=[Rule(name="confirm", keywords=["yes"], action="confirm")],
    )
    folder.mkdir(parents=True, exist_ok=True)
    document = rules.model_dump(mode="json", exclude_defaults=True)
    (folder / "latency.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))


def receiver_results(port: int, full: bool = False) -> dict[str, Any]:
    query = "?full=1" if full else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/results{query}", timeout=30) as answer:
        result: dict[str, Any] = json.load(answer)
        return result


def await_callbacks(port: int, expected: int, within: float) -> dict[str, Any]:
    """Wait until the receiver has `expected` events (or `within` seconds passed); all of them."""
    deadline = time.monotonic() + within
    while receiver_results(port)["count"] < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return receiver_results(port, full=True)


def measure_latency(
    services: Services, plan: Plan, base_env: dict[str, str], work: Path, report: Report
) -> None:
    """Webhook → callback at each offered rate, open loop, on PostgreSQL: one `inbound serve`,
    one `inbound worker` (rules and actions) and a callback receiver, all on this machine."""
    rates = ", ".join(f"{rate}/s" for rate in plan.latency_rates)
    say(f"latency: webhook -> callback at {rates}, {plan.latency_seconds:g} s each, open loop")
    namespace = services.namespace()
    receiver_port, serve_port = free_port(), free_port()
    rules_folder = work / "latency-rules"
    write_latency_rules(rules_folder, f"http://127.0.0.1:{receiver_port}/events")
    env = inbound_env(
        {**base_env, "INBOUND_RULES_DIR": str(rules_folder)},
        amqp_namespace=namespace,
        host="127.0.0.1",
        port=str(serve_port),
        twilio_auth_token=TWILIO_TOKEN,
        twilio_account_sid=TWILIO_ACCOUNT,
        secret_key=Fernet.generate_key().decode(),  # serve on PostgreSQL requires one
        prefetch=str(plan.prefetch),
    )
    env["INBOUND_DATABASE_URL"] = services.create_postgres(
        lambda url: migrate({**env, "INBOUND_DATABASE_URL": url})
    )
    url = f"http://127.0.0.1:{serve_port}/webhooks/twilio"
    names = BrokerNames(namespace)
    procs = [
        Proc.start(
            "callback-receiver",
            [PYTHON, str(HERE / "callback_receiver.py"), f"--port={receiver_port}"],
            env,
            work,
            ready="listening on",
        ),
        Proc.start("latency-serve", [INBOUND, "serve"], env, work, ready="listening on"),
        Proc.start("latency-worker", [INBOUND, "worker"], env, work, ready="consuming"),
    ]
    receiver, serve, worker = procs
    results: dict[str, Any] = {}
    sent = 0  # webhooks sent so far, every rate included
    try:

        def step(every: float, seconds: float, prefix: str) -> tuple[latency.Step, dict[str, Any]]:
            before = receiver_results(receiver_port)
            processes = {
                "inbound serve": [serve.process.pid],
                "inbound worker": [worker.process.pid],
                "callback receiver": [receiver.process.pid],
                "load generator": [os.getpid()],
                "RabbitMQ": latency.pids_named("beam.smp"),
                "PostgreSQL": latency.pids_named("postgres"),
            }
            nonlocal sent
            requests = latency_requests(url, max(1, round(every * seconds)), prefix)
            # Callbacks still owed from the rates before (more than the drain could wait for):
            # this rate starts behind by that many.
            backlog = sent - before["count"]
            sent += len(requests)
            queues = [names.received, names.actions]
            done = runtime.run(
                latency.offer(
                    url,
                    requests,
                    every,
                    processes,
                    services.amqp_url,
                    queues,
                    f"http://127.0.0.1:{receiver_port}/results",
                )
            )
            arrived = await_callbacks(
                receiver_port, before["count"] + len(requests), plan.latency_drain
            )
            return done, arrived | {
                "duplicates": arrived["duplicates"] - before["duplicates"],
                "backlog_at_start": backlog,
            }

        # Warm-up, discarded: connections, pools, caches and the JIT-less interpreter's own.
        step(min(plan.latency_rates), plan.warmup, "W")
        for index, offered in enumerate(plan.latency_rates):
            done, arrived = step(offered, plan.latency_seconds, f"R{index}")
            summary = latency.summarise(done, arrived["arrivals"], arrived["duplicates"])
            summary["backlog_at_start"] = arrived["backlog_at_start"]
            results[str(offered)] = summary
            say(
                f"latency at {offered}/s: callback p50 {summary['callback_p50_ms']:,.0f} ms, "
                f"p99 {summary['callback_p99_ms']:,.0f} ms, achieved "
                f"{summary['achieved_per_s']:,.0f}/s"
                f"{'' if summary['sustained'] else ' (NOT SUSTAINED)'}; {summary['limit']}"
            )
    finally:
        for proc in procs:
            report.peak(proc.name, proc.stop())
    report.figures["latency"] = {
        "database": "postgresql",
        "processes": "1 inbound serve, 1 inbound worker (rules and actions), 1 callback receiver",
        "seconds_each": plan.latency_seconds,
        "rates": results,
    }


def measure_fairness(services: Services, plan: Plan, report: Report) -> None:
    """bench/fairness.py: service B's callback p99 with A's endpoint hanging (and A flooding)
    against B's p99 with neither, on PostgreSQL; the target is at most 2x."""
    say(f"fairness: B's callback p99, quiet / A hangs / A floods, {plan.fairness_seconds:g} s each")
    result = fairness.measure(
        services.amqp_url,
        services.postgres_url,
        seconds=plan.fairness_seconds,
        flood=plan.fairness_flood,
    )
    report.figures["fairness"] = result
    say(
        "fairness: B's callback p99 "
        + ", ".join(
            f"{case} {result[case]['b_p99_ms']:,.0f} ms"
            + (f" ({result[case]['p99_ratio_to_quiet']:.2f}x)" if case != "quiet" else "")
            for case in ("quiet", "a_hangs", "a_floods")
            if case in result and "b_p99_ms" in result[case]
        )
        + "; target: with A's fault at most 2x B's quiet p99"
    )


def measure_consume_baseline(
    services: Services, plan: Plan, texts: list[str], report: Report
) -> None:
    namespace = services.namespace()
    services.preload(namespace, plan.messages, texts)
    output, peak = run_to_end(
        [
            PYTHON,
            str(HERE / "baseline.py"),
            "consume",
            f"--messages={plan.messages}",
            f"--prefetch={plan.prefetch}",
            f"--amqp-url={services.amqp_url}",
            f"--namespace={namespace}",
        ],
        timeout=600,
    )
    result = json.loads(output.splitlines()[-1])
    report.figures["baseline_consume"] = {"messages": result["messages"], "rate": result["rate"]}
    report.peak("baseline-consume", peak)


def measure_workers(
    services: Services,
    plan: Plan,
    base_env: dict[str, str],
    work: Path,
    texts: list[str],
    database: str,
    workers: int,
    messages: int,
    timeout: float,
    database_url: str | None = None,
    senders: Sequence[str] | None = None,
) -> dict[str, Any]:
    """N messages pre-loaded, then `workers` processes started; time until all are stored.
    In a fresh database, or in `database_url` (migrated, perhaps holding earlier runs)."""
    namespace = services.namespace()
    env = inbound_env(base_env, amqp_namespace=namespace, prefetch=str(plan.prefetch))
    if database_url is not None:
        url = database_url
    elif database == "postgresql":
        url = services.create_postgres(lambda u: migrate({**env, "INBOUND_DATABASE_URL": u}))
    else:
        url = f"sqlite+aiosqlite:///{work / f'e2e-{namespace}.db'}"
        migrate({**env, "INBOUND_DATABASE_URL": url})
    env["INBOUND_DATABASE_URL"] = url
    preload_rate = services.preload(namespace, messages, texts, senders)
    count = services.counter(url)
    before = count()  # stored by earlier runs in the same database
    procs: list[Proc] = []
    samples: list[tuple[float, int, int]] = []  # (seconds, stored, first worker's RSS in KiB)
    cpu: list[tuple[int, float]] = []  # (stored, the machine's busy CPU seconds so far)
    try:
        # All launched at once, so they start consuming within moments of each other.
        for i in range(workers):
            name = f"worker-{database}-{workers}x-{i}"
            procs.append(Proc.launch(name, [INBOUND, "worker"], env, work))
        # Sampled from launch, not from the "consuming" line: a worker prints it once all its
        # parts have started, by when a fast one has stored most of the messages, and the
        # steady pace (20 % to 90 % stored) must not depend on that moment.
        launched = time.perf_counter()
        sampled: list[tuple[float, int, int]] = []
        stored = count()
        while not all(proc.ready("rules worker consuming") for proc in procs):
            if time.perf_counter() - launched > 60:
                raise RuntimeError(f"a worker never became ready: {procs[0].tail()}")
            time.sleep(0.05)
            stored = count()
            sampled.append((time.perf_counter() - launched, stored - before, 0))
            cpu.append((stored - before, machine_cpu_seconds()))
        started = time.perf_counter()
        at_start = count()
        stored = at_start
        while stored - before < messages and time.perf_counter() - started < timeout:
            time.sleep(0.05)
            stored = count()
            samples.append(
                (time.perf_counter() - started, stored - before, procs[0].rss_kib() or 0)
            )
            cpu.append((stored - before, machine_cpu_seconds()))
        seconds = time.perf_counter() - started
        ready_after = started - launched
    finally:
        peaks = [proc.stop() for proc in procs]
    rate = (stored - at_start) / seconds if seconds > 0 else 0.0
    from_launch = sampled + [(t + ready_after, n, rss) for t, n, rss in samples]
    steady = steady_rate(from_launch, messages, 0)
    # Batches the rules worker gave up on and processed one message at a time (a transaction
    # each): a cause of a low rate that the rate alone doesn't show.
    one_by_one = sum(proc.stderr.read_text().count("batch_failed_one_by_one") for proc in procs)
    return {
        "workers": workers,
        "messages": messages,
        "stored": stored - before,
        "stored_before_timing": at_start - before,
        "seconds": seconds,
        "rate": rate,
        "steady_rate": steady,
        "steady_cpu_ms": steady_cpu_ms(cpu, messages),
        "timed_out": stored - before < messages,
        "batches_one_by_one": one_by_one,
        "preload_rate": preload_rate,
        "peak_kib": peaks,
        "memory": memory_growth(samples, messages),
    }


def _median_known(values: Sequence[float]) -> float:
    """The median of the values that aren't NaN (runs too short for a steady window), or NaN."""
    known = [value for value in values if not math.isnan(value)]
    return statistics.median(known) if known else math.nan


def _pace(run: dict[str, Any]) -> float:
    return float(run["steady_rate"] or math.nan)


def steady_rate(
    samples: list[tuple[float, int, int]], messages: int, at_start: int
) -> float | None:
    """Messages stored a second between 20 % and 90 % of the run (from the start of timing if
    later): the worker's steady pace, without its first batches (connections opened, statements
    compiled, a cold cache) or the last ones (a part-filled batch). None when too few samples."""
    low = max(messages * 0.2, at_start)
    window = [(t, stored) for t, stored, _ in samples if low <= stored <= messages * 0.9]
    if len(window) < 2 or window[-1][0] <= window[0][0]:
        return None
    (t0, s0), (t1, s1) = window[0], window[-1]
    return (s1 - s0) / (t1 - t0)


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (every process: worker, PostgreSQL,
    RabbitMQ, this bench), from /proc/stat's first line; NaN where there is none."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return math.nan
    # user nice system idle iowait irq softirq steal: all but idle and iowait are work.
    ticks = [int(value) for value in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def steady_cpu_ms(samples: list[tuple[int, float]], messages: int) -> float:
    """The machine's CPU milliseconds a message stored between 20 % and 90 % of the run, the
    steady pace's window: every process's share (worker, PostgreSQL, RabbitMQ, this bench's
    counting), which is what the pace comes to where the CPU is the limit, and which a machine
    whose speed drifts between runs moves far less than the pace. NaN when too few samples."""
    # The steady pace with the CPU clock for the wall clock: messages a CPU second.
    per_cpu_second = steady_rate([(cpu, stored, 0) for stored, cpu in samples], messages, 0)
    return 1000 / per_cpu_second if per_cpu_second else math.nan


def memory_growth(samples: list[tuple[float, int, int]], messages: int) -> dict[str, float | None]:
    """Resident memory of a worker once warm (20 % of the messages) and at most afterwards."""
    warm = [rss for _, stored, rss in samples if stored >= messages * 0.2 and rss]
    if not warm:
        return {"warm_mib": None, "max_after_mib": None, "growth_mib": None}
    return {
        "warm_mib": warm[0] / 1024,
        "max_after_mib": max(warm) / 1024,
        "growth_mib": (max(warm) - warm[0]) / 1024,
    }


def measure_prompts(
    services: Services,
    plan: Plan,
    base_env: dict[str, str],
    work: Path,
    texts: list[str],
    report: Report,
) -> None:
    """Issue 15's prompts at scale, on PostgreSQL: `plan.prompts` open prompts loaded, then
    (a) one reply's prompt lookup + match, p50/p99, against the same on an empty prompts table,
    interleaved reply by reply; (b) end to end (the e2e section's `measure_workers`: messages
    pre-loaded on the queue, one `inbound worker`) with every reply from a number that has an
    open prompt, against the same replies into a database with none, runs alternated. Then the
    imports (`measure_prompt_import`) in the empty one. Both databases are dropped at the end."""
    senders = plan.prompt_runs * plan.prompt_messages
    in_batches = plan.prompt_batches * plan.prefetch
    total = max(plan.prompts, senders + max(plan.prompt_lookups, in_batches))
    say(
        f"prompts: {total:,} open prompts, lookup + match of {plan.prompt_lookups:,} replies, "
        f"{plan.prompt_runs} x 2 end-to-end runs of {plan.prompt_messages:,} messages"
    )
    env = inbound_env(base_env)
    loaded = services.create_postgres(lambda url: migrate({**env, "INBOUND_DATABASE_URL": url}))
    empty = services.create_postgres(lambda url: migrate({**env, "INBOUND_DATABASE_URL": url}))
    try:
        load = services.run(prompt_bench.load(loaded, total, senders))
        say(
            f"prompts: {total:,} loaded in {load['seconds']:.1f} s "
            f"({load['rate']:,.0f} a second, ANALYZE included in the time)"
        )
        # Senders among the rest of the loaded prompts (not the end-to-end ones, which stay
        # open for the runs below), spread over the table.
        picks = random.Random(15).sample(range(senders, total), plan.prompt_lookups)
        warmup = max(1, plan.prompt_lookups // 10)
        numbers = [prompt_bench.other_number(n) for n in picks]
        lookup = services.run(
            prompt_bench.lookup_latency(loaded, empty, work / "rules", numbers, warmup)
        )
        say(
            f"prompts: lookup + match p50 {lookup['loaded']['p50_ms']:.3f} ms, p99 "
            f"{lookup['loaded']['p99_ms']:.3f} ms with {total:,}; p50 "
            f"{lookup['empty']['p50_ms']:.3f} ms, p99 {lookup['empty']['p99_ms']:.3f} ms with "
            f"none: {lookup['added_p99_ms']:+.3f} ms at p99 (target: at most +1 ms)"
        )
        # Every reply answers its sender's prompt: the most work prompts add (a lookup and the
        # answer's UPDATE each), with the same outcomes as without prompts.
        answers = prompt_bench.answers(texts, twenty_rules())
        # A worker's batch alone, alternated batch by batch: the figure this machine's drift in
        # speed can't move. Its replies come from the prompts after the end-to-end ones (the
        # lookups above only read theirs), one after another as loaded.
        batch = services.run(
            prompt_bench.batch_alternation(
                loaded,
                empty,
                work / "rules",
                [prompt_bench.other_number(senders + i) for i in range(in_batches)],
                answers,
                plan.prefetch,
                warmup=max(1, plan.prompt_batches // 8),
            )
        )
        say(
            f"prompts: a worker's batch of {batch['size']} alone, alternated: "
            f"{batch['loaded_median_ms']:.1f} ms with {total:,} prompts, "
            f"{batch['empty_median_ms']:.1f} ms with none (median of {batch['batches']} each): "
            f"{batch['ratio']:.2f}"
        )
        runs: dict[str, list[dict[str, Any]]] = {"loaded": [], "empty": []}
        for index in range(plan.prompt_runs):
            first = index * plan.prompt_messages
            numbers = [prompt_bench.reply_sender(first + i) for i in range(plan.prompt_messages)]
            order = ("loaded", "empty") if index % 2 == 0 else ("empty", "loaded")
            for name in order:
                url = loaded if name == "loaded" else empty
                before = services.run(prompt_bench.database_counts(url))
                result = measure_workers(
                    services,
                    plan,
                    base_env,
                    work,
                    answers,
                    "postgresql",
                    1,
                    plan.prompt_messages,
                    timeout=120,
                    database_url=url,
                    senders=numbers,
                )
                after = services.run(prompt_bench.database_counts(url))
                result["counts"] = {k: v - before.get(k, 0) for k, v in after.items()}
                runs[name].append(result)
                say(
                    f"prompts: end to end, {name} prompts table, run {index + 1}: "
                    f"{result['rate']:,.0f} msg/s (steady {_pace(result):,.0f}), "
                    f"{result['steady_cpu_ms']:.3f} ms of CPU a message; "
                    f"{result['counts']}; "
                    f"{result['batches_one_by_one']} batches retried one by one"
                )
        services.drop_postgres(loaded)  # 400 MB for a million: gone before the imports

        # At the steady pace of each run (from 20 % to 90 % of its messages): the runs without
        # prompts start so fast that up to 40 % is stored before timing begins, so their whole-
        # run rate leaves out the slow first batches that the runs with prompts include. NaN
        # when a run was too short to have a steady pace (a few hundred messages, --quick).
        ratios = [
            _pace(with_prompts) / _pace(without)
            for with_prompts, without in zip(runs["loaded"], runs["empty"], strict=True)
        ]
        whole_run = [
            with_prompts["rate"] / without["rate"] if without["rate"] else math.nan
            for with_prompts, without in zip(runs["loaded"], runs["empty"], strict=True)
        ]
        cpu = {name: _median_known([r["steady_cpu_ms"] for r in runs[name]]) for name in runs}
        e2e = {
            "loaded": statistics.median(r["rate"] for r in runs["loaded"]),
            "empty": statistics.median(r["rate"] for r in runs["empty"]),
            "ratio_runs": ratios,
            "ratio_median": statistics.median(ratios),
            "whole_run_ratios": whole_run,
            # Machine CPU a message, medians: without / with is the ratio a machine whose
            # CPU is the limit would see.
            "cpu_ms_per_message": cpu,
            "cpu_ratio": cpu["empty"] / cpu["loaded"] if cpu["loaded"] else math.nan,
            "answered": sum(r["counts"].get("answered", 0) for r in runs["loaded"]),
            "runs": runs,
        }
        say(
            "prompts: end to end with / without, each run: "
            + ", ".join(f"{ratio:.2f}" for ratio in ratios)
            + f"; median {e2e['ratio_median']:.2f} (target: at least 0.9; steady pace, whole "
            "runs: "
            + ", ".join(f"{ratio:.2f}" for ratio in whole_run)
            + f"); {e2e['answered']:,} prompts answered"
        )
        say(
            f"prompts: the machine's CPU a message, median: {cpu['loaded']:.3f} ms with prompts, "
            f"{cpu['empty']:.3f} ms without: {e2e['cpu_ratio']:.2f} (the ratio where the CPU is "
            "the limit)"
        )
        report.figures["prompts"] = {
            "database": "postgresql",
            "databases": [make_url(url).database for url in (loaded, empty)],  # dropped after
            "load": load,
            "lookup": lookup,
            "batch": batch,
            "end_to_end": e2e,
        }
        measure_prompt_import(services, plan, base_env, work, empty, report)
    finally:
        for url in (loaded, empty):
            services.drop_postgres(url)


def measure_prompt_import(
    services: Services,
    plan: Plan,
    base_env: dict[str, str],
    work: Path,
    database_url: str,
    report: Report,
) -> None:
    """`plan.prompt_import` prompts: through POST /api/prompts of a running `inbound review`
    in batches of `plan.prompt_batch` with a service token (made as the tests make them, with
    `inbound tokens add --service`), and with `inbound prompts import`; the prompts table
    emptied before each. The baseline is the database's own insert of as many prompts
    (`prompt_bench.load`, generated in the server), in the same table."""
    count, size = plan.prompt_import, min(plan.prompt_batch, plan.prompt_import)
    say(f"prompt import: {count:,} prompts by the API ({size:,} a request) and by CSV")
    services.run(prompt_bench.truncate(database_url))
    baseline = services.run(prompt_bench.load(database_url, count, 0))
    services.run(prompt_bench.truncate(database_url))
    port = free_port()
    env = inbound_env(
        base_env,
        amqp_namespace=services.namespace(),
        database_url=database_url,
        host="127.0.0.1",
        port=str(port),
        secret_key=Fernet.generate_key().decode(),
    )
    made = subprocess.run(
        [INBOUND, "tokens", "add", "--service", prompt_bench.SERVICE, "--name", "bench"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"inbound tokens add failed: {made.stderr[-2000:]}")
    token = made.stdout.strip()
    bodies = prompt_bench.api_batches(count, size)
    review = Proc.start("prompts-review", [INBOUND, "review"], env, work, ready="listening on")
    batch_seconds = []
    try:
        started = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/prompts",
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310
                stored = json.load(answer)
            batch_seconds.append(time.perf_counter() - sent)
            if len(stored) != len(json.loads(body)):
                raise RuntimeError(f"POST /api/prompts stored {len(stored)} of a batch")
        api_seconds = time.perf_counter() - started
    finally:
        report.peak(review.name, review.stop())
    api_stored = services.run(prompt_bench.prompt_count(database_url))
    if api_stored != count:
        raise RuntimeError(f"POST /api/prompts left {api_stored:,} prompts, not {count:,}")
    services.run(prompt_bench.truncate(database_url))
    csv_file = work / "prompts.csv"
    prompt_bench.write_csv(csv_file, count)
    started = time.perf_counter()
    output, peak = run_to_end(
        [INBOUND, "prompts", "import", prompt_bench.SERVICE, str(csv_file)],
        timeout=600,
        env=env,
    )
    csv_seconds = time.perf_counter() - started
    report.peak("inbound prompts import", peak)
    if f"{count:,} new" not in output:
        raise RuntimeError(f"inbound prompts import said: {output[-500:]}")
    figure = {
        "prompts": count,
        "batch": size,
        "baseline": baseline,
        "api": {
            "seconds": api_seconds,
            "rate": count / api_seconds,
            "batch_seconds": batch_seconds,
        },
        "csv": {"seconds": csv_seconds, "rate": count / csv_seconds, "said": output.strip()},
    }
    report.figures["prompt_import"] = figure
    for how in ("api", "csv"):
        say(
            f"prompt import by {how}: {count:,} in {figure[how]['seconds']:.1f} s, "
            f"{figure[how]['rate']:,.0f} a second (target: under 60 s)"
        )


# Issue 16's targets: server time of a page at p95, and of the whole CSV.
REVIEW_TARGET_MS = {"queue": 200.0, "filtered": 200.0, "item": 200.0, "csv": 3000.0}
REVIEW_NAMES = {
    "queue": "queue, first page",
    "filtered": "queue, filtered",
    "item": "item page",
    "csv": "queue CSV",
}


def measure_review(
    services: Services, plan: Plan, base_env: dict[str, str], work: Path, report: Report
) -> None:
    """Issue 16's review queue at scale, on PostgreSQL: `plan.review_messages` stored messages
    and `plan.review_items` open items of the bench service loaded, a caseworker of it signed in
    over HTTP to a running `inbound review`, and each page timed (p50/p95 to the whole body):
    the queue, a filtered queue, the item whose sender has `plan.review_conversation` messages,
    and the CSV of a tenth of the items. The baseline is the same pages of a second `inbound
    review` on a database holding one message and its item. Both databases are dropped."""
    shape = review_bench.Shape(plan.review_messages, plan.review_items, plan.review_conversation)
    say(
        f"review: {shape.messages:,} messages over {shape.numbers:,} numbers, {shape.items:,} "
        f"open items; {plan.review_requests} GETs of each page, the CSV {plan.review_csv}"
    )
    env = inbound_env(base_env)
    loaded = services.create_postgres(lambda url: migrate({**env, "INBOUND_DATABASE_URL": url}))
    empty = services.create_postgres(lambda url: migrate({**env, "INBOUND_DATABASE_URL": url}))
    processes: list[Proc] = []
    try:
        load = services.run(review_bench.load(loaded, shape))
        say(f"review: loaded in {load['seconds']:.1f} s (indexes and ANALYZE included)")
        services.run(review_bench.load(empty, review_bench.Shape(1, 1, 1)))
        counts = {
            "queue": plan.review_requests,
            "filtered": plan.review_requests,
            "item": plan.review_requests,
            "csv": plan.review_csv,
        }
        timed: dict[str, dict[str, Any]] = {}
        for name, url in (("loaded", loaded), ("empty", empty)):
            secret = services.run(review_bench.add_caseworker(url))
            item = services.run(review_bench.talker_item(url))
            port = free_port()
            review_env = inbound_env(
                base_env,
                amqp_namespace=services.namespace(),
                database_url=url,
                host="127.0.0.1",
                port=str(port),
                secret_key=Fernet.generate_key().decode(),
                cookie_secure="false",
            )
            process = Proc.start(
                f"review-{name}", [INBOUND, "review"], review_env, work, ready="listening on"
            )
            processes.append(process)
            pages = review_bench.paths(item, datetime.now(UTC))
            timed[name] = services.run(
                review_bench.timed_pages(
                    f"http://127.0.0.1:{port}", secret, pages, counts, plan.review_warmup
                )
            )
            report.peak(process.name, process.stop())
        rows = timed["loaded"]["csv"]["rows"]
        if rows != shape.csv_rows:
            raise RuntimeError(f"the CSV held {rows:,} rows, not {shape.csv_rows:,}")
        for name, target in REVIEW_TARGET_MS.items():
            got, base = timed["loaded"][name], timed["empty"][name]
            key = "p95_ms"
            say(
                f"review: {REVIEW_NAMES[name]}: p50 {got['p50_ms']:.1f} ms, p95 "
                f"{got['p95_ms']:.1f} ms ({got[key] / base[key]:.1f}x one item's "
                f"{base[key]:.1f} ms); target: p95 under {target / 1000:g} s"
                + ("" if name != "csv" else f"; {rows:,} rows, {got['bytes']:,} bytes")
            )
        report.figures["review"] = {
            "database": "postgresql",
            "databases": [make_url(url).database for url in (loaded, empty)],  # dropped after
            "load": load,
            "csv_rows": rows,
            "targets_ms": REVIEW_TARGET_MS,
            "loaded": timed["loaded"],
            "empty": timed["empty"],
        }
    finally:
        for process in processes:
            report.peak(process.name, process.stop())
        for url in (loaded, empty):
            services.drop_postgres(url)


def measure_rules(plan: Plan, report: Report) -> None:
    service = twenty_rules()
    matcher = Matcher(service)
    table = {normalise(k): rule.name for rule in service.rules for k in rule.keywords}
    texts = replies()
    base = rate(lambda text: table.get(normalise(text)), texts, plan.rule_seconds)
    matched = rate(matcher.decide, texts, plan.rule_seconds)
    report.figures["baseline_rules"] = {"rate": base}
    report.figures["rules"] = {"rules": len(service.rules), "rate": matched}


def write_rules(folder: Path) -> None:
    service = twenty_rules()
    document = service.model_dump(mode="json", exclude_defaults=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))


# --- the table ---------------------------------------------------------------------------------


def rows(report: Report) -> list[dict[str, Any]]:
    f = report.figures
    out: list[dict[str, Any]] = []

    def add(
        label: str,
        value: float,
        unit: str,
        baseline: float | None,
        memory: str | None,
        extra: str = "",
    ) -> None:
        ratio = value / baseline if baseline else None
        mem = report.memory_kib.get(memory) if memory else None
        out.append(
            {
                "figure": label,
                "value": value,
                "unit": unit,
                "ratio": ratio,
                "peak_mib": mem / 1024 if mem else None,
                "note": extra,
            }
        )

    if "latency" in f:
        out += latency_rows(f["latency"])
    if "fairness" in f:
        out += fairness_rows(f["fairness"])
    if "prompts" in f:
        out += prompt_rows(f["prompts"], f["prompt_import"])
    if "review" in f:
        out += review_rows(f["review"])
    if "baseline_http" not in f:  # --only latency
        return out
    base, ingest = f["baseline_http"], f["ingest"]
    add(
        "HTTP baseline (form + confirmed publish)",
        base["rps"],
        "req/s",
        base["rps"],
        "baseline-http",
        f"p50 {base['p50_ms']:.1f} ms, p99 {base['p99_ms']:.1f} ms; {cpu_note(base)}",
    )
    add(
        "ingest: inbound serve, signed Twilio",
        ingest["rps"],
        "req/s",
        base["rps"],
        "inbound-serve",
        f"p50 {ingest['p50_ms']:.1f} ms, p99 {ingest['p99_ms']:.1f} ms "
        f"({ingest['p99_ms'] / base['p99_ms']:.2f}x baseline p99); {cpu_note(ingest)}; "
        f"ratio each run {', '.join(f'{r:.2f}' for r in ingest['ratio_runs'])}, "
        f"median {ingest['ratio_median']:.2f}",
    )
    if "baseline_consume" not in f:  # --only ingest
        return out
    consume = f["baseline_consume"]["rate"]
    add("consume baseline (aio-pika ack only)", consume, "msg/s", consume, "baseline-consume")
    for database, by_workers in f["end_to_end"].items():
        for workers, result in by_workers.items():
            peaks = [p for p in result["peak_kib"] if p]
            name = f"end to end {database}, {workers} worker{'s' if workers != '1' else ''}"
            growth = result["memory"]["growth_mib"]
            note = "TIMED OUT, " if result["timed_out"] else ""
            note += f"{result['messages']} msgs"
            if growth is not None:
                note += f", RSS growth after warm-up {growth:.1f} MiB"
            out.append(
                {
                    "figure": name,
                    "value": result["rate"],
                    "unit": "msg/s",
                    "ratio": result["rate"] / consume,
                    "peak_mib": max(peaks) / 1024 if peaks else None,
                    "note": note,
                }
            )
    if "sign_in_flood" in f:
        quiet = f["sign_in_flood"]["quiet"]
        for name, case in f["sign_in_flood"].items():
            note = f"p50 {case['p50_ms']:.1f} ms, {case['rps']:,.0f} req/s"
            if case["sign_in_attempts_per_s"]:
                note += (
                    f"; {case['sign_in_attempts_per_s']:,.0f} sign-ins/s {case['sign_in_statuses']}"
                )
            out.append(
                {
                    "figure": f"webhook p99, sign-in {name}"
                    if name != "quiet"
                    else "webhook p99, no sign-in flood",
                    "value": case["p99_ms"],
                    "unit": "ms",
                    "ratio": case["p99_ms"] / quiet["p99_ms"],
                    "peak_mib": None,
                    "note": note,
                }
            )
    rules_base = f["baseline_rules"]["rate"]
    add("rule baseline (normalise + dict lookup)", rules_base, "match/s", rules_base, None)
    add("rule engine, 20 rules (Matcher.decide)", f["rules"]["rate"], "match/s", rules_base, None)
    if "soak" in f:
        soak = f["soak"]
        peaks = [p for p in soak["peak_kib"] if p]
        growth = soak["memory"]["growth_mib"]
        out.append(
            {
                "figure": "soak: postgresql, 1 worker",
                "value": soak["rate"],
                "unit": "msg/s",
                "ratio": soak["rate"] / consume,
                "peak_mib": max(peaks) / 1024 if peaks else None,
                "note": f"{soak['messages']} msgs, RSS growth after warm-up "
                f"{growth if growth is not None else float('nan'):.1f} MiB",
            }
        )
    return out


def latency_rows(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per offered rate: callback p99, its ratio achieved/offered, and the limit."""
    out = []
    for offered, case in figure["rates"].items():
        note = (
            f"p50 {case['callback_p50_ms']:,.0f} ms; webhook p50 {case['webhook_p50_ms']:.1f} ms, "
            f"p99 {case['webhook_p99_ms']:.1f} ms; achieved {case['achieved_per_s']:,.0f}/s"
            f"{'' if case['sustained'] else ' NOT SUSTAINED'}; limit: {case['limit']}"
        )
        if case.get("backlog_at_start"):
            note += f"; started {case['backlog_at_start']:,} callbacks behind (earlier rates)"
        out.append(
            {
                "figure": f"webhook -> callback p99, {offered}/s offered",
                "value": case["callback_p99_ms"],
                "unit": "ms",
                "ratio": case["achieved_per_s"] / case["offered_per_s"],
                "peak_mib": None,
                "note": note,
            }
        )
    return out


def prompt_rows(figure: dict[str, Any], imports: dict[str, Any]) -> list[dict[str, Any]]:
    """Lookup + match p99 and end-to-end rate with the loaded prompts, each against the same
    with none; the imports' rates against the database's own insert of as many prompts."""
    lookup, e2e, load = figure["lookup"], figure["end_to_end"], figure["load"]
    batch = figure["batch"]
    total = f"{load['prompts']:,}"
    out = [
        {
            "figure": "prompt lookup + match p99, none",
            "value": 1000 * lookup["empty"]["p99_ms"],
            "unit": "us",
            "ratio": 1.0,
            "peak_mib": None,
            "note": f"p50 {lookup['empty']['p50_ms']:.3f} ms; {lookup['replies']:,} replies",
        },
        {
            "figure": f"prompt lookup + match p99, {total} open",
            "value": 1000 * lookup["loaded"]["p99_ms"],
            "unit": "us",
            "ratio": lookup["p99_ratio"],
            "peak_mib": None,
            "note": f"{lookup['loaded']['p99_ms']:.3f} ms, p50 {lookup['loaded']['p50_ms']:.3f} "
            f"ms; added p99 {lookup['added_p99_ms']:+.3f} ms (target <= +1 ms); "
            f"{lookup['index_scans']:,} index scans; loaded in {load['seconds']:.1f} s",
        },
        {
            "figure": "end to end postgresql, 1 worker, no prompts",
            "value": e2e["empty"],
            "unit": "msg/s",
            "ratio": 1.0,
            "peak_mib": None,
            "note": f"median of {len(e2e['ratio_runs'])} runs, alternated with the next",
        },
        {
            "figure": f"end to end, replies to {total} prompts",
            "value": e2e["loaded"],
            "unit": "msg/s",
            "ratio": e2e["ratio_median"],
            "peak_mib": None,
            "note": "ratio each run "
            + ", ".join(f"{r:.2f}" for r in e2e["ratio_runs"])
            + f" (target >= 0.9); {e2e['answered']:,} prompts answered",
        },
        {
            "figure": f"a worker's batch alone, {total} prompts",
            "value": batch["loaded_median_ms"],
            "unit": "ms",
            "ratio": batch["ratio"],
            "peak_mib": None,
            "note": f"{batch['size']} replies; {batch['empty_median_ms']:.1f} ms with none, "
            f"alternated batch by batch, median of {batch['batches']} each",
        },
        {
            "figure": f"machine CPU a message, replies to {total} prompts",
            "value": 1000 * e2e["cpu_ms_per_message"]["loaded"],
            "unit": "us",
            "ratio": e2e["cpu_ratio"],
            "peak_mib": None,
            "note": f"{1000 * e2e['cpu_ms_per_message']['empty']:,.0f} us without; the end-to-"
            "end runs' median, every process; the ratio where the CPU is the limit",
        },
        {
            "figure": "prompt insert, database alone",
            "value": imports["baseline"]["rate"],
            "unit": "prompt/s",
            "ratio": 1.0,
            "peak_mib": None,
            "note": f"{imports['prompts']:,} in {imports['baseline']['insert_seconds']:.1f} s "
            "(INSERT ... SELECT generate_series)",
        },
    ]
    for how, name in (("api", f"POST /api/prompts x{imports['batch']:,}"), ("csv", "CSV")):
        out.append(
            {
                "figure": f"prompt import, {name}",
                "value": imports[how]["rate"],
                "unit": "prompt/s",
                "ratio": imports[how]["rate"] / imports["baseline"]["rate"],
                "peak_mib": None,
                "note": f"{imports['prompts']:,} in {imports[how]['seconds']:.1f} s "
                "(target < 60 s)",
            }
        )
    return out


def review_rows(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """Each review page's p95 (the CSV's: a whole download) among the loaded queue,
    against the same page of a database holding one item."""
    out = []
    load = figure["load"]
    for name, target in REVIEW_TARGET_MS.items():
        got, base = figure["loaded"][name], figure["empty"][name]
        key = "p95_ms"
        out.append(
            {
                "figure": f"review {REVIEW_NAMES[name]}, {key[:3]}",
                "value": got[key],
                "unit": "ms",
                "ratio": got[key] / base[key],
                "peak_mib": None,
                "note": f"{load['items']:,} open items, {load['messages']:,} messages; "
                f"target < {target:,.0f} ms",
            }
        )
    return out


def fairness_rows(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """Service B's callback p99 in each case; ratio to its p99 with no fault (target <= 2)."""
    quiet = figure["quiet"]["b_p99_ms"]
    names = {"quiet": "no fault", "a_hangs": "A's endpoint hanging", "a_floods": "A flooding"}
    return [
        {
            "figure": f"fairness: B's callback p99, {names.get(case, case)}",
            "value": figure[case]["b_p99_ms"],
            "unit": "ms",
            "ratio": figure[case]["b_p99_ms"] / quiet if quiet else float("nan"),
            "peak_mib": None,
            "note": f"p50 {figure[case]['b_p50_ms']:,.0f} ms, {figure[case]['b_sent']} sent, "
            f"{figure[case]['b_missing']} missing"
            + ("" if case == "quiet" else "; target: ratio <= 2"),
        }
        for case in ("quiet", "a_hangs", "a_floods")
        if case in figure
    ]


def cpu_note(figure: dict[str, Any]) -> str:
    """The server's CPU a request and how busy it and the machine were, for the table."""
    return (
        f"{figure['server_cpu_ms']:.3f} ms CPU/req, server {figure['server_busy']:.0%} of a core, "
        f"machine {figure['machine_busy']:.0%} busy"
    )


def print_table(table: list[dict[str, Any]]) -> None:
    print()
    print(f"{'figure':<44} {'value':>12} {'unit':<8} {'ratio':>6} {'peak MiB':>9}  note")
    for row in table:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        peak = f"{row['peak_mib']:.0f}" if row["peak_mib"] is not None else "-"
        print(
            f"{row['figure']:<44} {row['value']:>12,.0f} {row['unit']:<8} {ratio:>6} "
            f"{peak:>9}  {row['note']}"
        )
    print(
        "ratio: to the baseline above it (HTTP, no sign-in flood, consume, or rule baseline); "
        "webhook -> callback: achieved / offered rate; fairness: to B's p99 with no fault"
    )


# --- main --------------------------------------------------------------------------------------


def plan_from(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(
            runs=1,
            seconds=1,
            warmup=1,
            concurrency=args.concurrency or 16,
            messages=args.messages or 300,
            workers=[1, 2, 4],
            rule_seconds=0.2,
            prefetch=args.prefetch,
            soak=args.soak,
            latency_seconds=args.latency_seconds or 1.5,
            latency_drain=15.0,
            fairness_seconds=2.0,
            fairness_flood=100,
            prompts=args.prompts or 20_000,
            prompt_lookups=200,
            prompt_runs=1,
            prompt_batches=4,
            # Fewer and the worker may be done before its timing starts (a rate of 0).
            prompt_messages=args.messages or 1_000,
            prompt_import=args.prompt_import or 20_000,
            review_messages=args.review_messages or 20_000,
            review_items=args.review_items or 2_000,
            review_requests=20,
            review_warmup=3,
            review_csv=2,
        )
    return Plan(
        runs=args.runs,
        seconds=args.seconds,
        warmup=args.warmup,
        concurrency=args.concurrency or 32,
        messages=args.messages or 5000,
        workers=[1, 2, 4],
        rule_seconds=2.0,
        prefetch=args.prefetch,
        soak=args.soak,
        latency_seconds=args.latency_seconds or 12.0,
        prompts=args.prompts or 1_000_000,
        prompt_import=args.prompt_import or 100_000,
        # 20,000, not the end-to-end section's 5,000: a run of 5,000 has about a second of steady
        # pace, and its pairs ranged 0.67-1.30 on one quiet machine; runs of 20,000, 0.95-1.07.
        prompt_messages=args.messages or 20_000,
        review_messages=args.review_messages or 1_000_000,
        review_items=args.review_items or 100_000,
    )


def require_loopback(url: str, what: str) -> None:
    host = make_url(url).host or "127.0.0.1"
    if host not in LOOPBACK and not host.startswith("127."):
        raise SystemExit(f"{what} must be on this machine (127.0.0.1), not {host}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--runs", type=int, default=3, help="load runs each; medians quoted")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one load run")
    parser.add_argument("--warmup", type=float, default=2.0, help="discarded warm-up load")
    parser.add_argument("--concurrency", type=int, default=0, help="requests in flight")
    parser.add_argument("--messages", type=int, default=0, help="messages per end-to-end run")
    parser.add_argument("--prefetch", type=int, default=128, help="INBOUND_PREFETCH of workers")
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        help="also process this many messages with one PostgreSQL worker",
    )
    parser.add_argument("--loader", choices=["auto", "wrk", "aiohttp"], default="auto")
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=0.0,
        help="length of each offered rate in the webhook -> callback section (12; --quick 1.5)",
    )
    parser.add_argument(
        "--prompts", type=int, default=0, help="open prompts loaded (1,000,000; --quick 20,000)"
    )
    parser.add_argument(
        "--prompt-import",
        type=int,
        default=0,
        help="prompts imported by the API and by CSV (100,000; --quick 20,000)",
    )
    parser.add_argument(
        "--review-messages",
        type=int,
        default=0,
        help="stored messages in the review section (1,000,000; --quick 20,000)",
    )
    parser.add_argument(
        "--review-items",
        type=int,
        default=0,
        help="open review items among them (100,000; --quick 2,000)",
    )
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("INBOUND_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("INBOUND_BENCH_DATABASE_URL")
        or os.environ.get(
            "INBOUND_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--only",
        choices=["all", "ingest", "latency", "prompts", "review"],
        default="all",
        help="ingest: only the HTTP baseline and ingest (written to results/ingest.json); "
        "latency: only webhook -> callback (results/latency.json); prompts: only the prompt "
        "lookup, end to end with prompts and the imports (results/prompts.json); review: only "
        "the review queue at scale (results/review.json)",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    plan = plan_from(args)
    loader = args.loader
    if loader == "auto":
        loader = "wrk" if shutil.which("wrk") else "aiohttp"
    require_loopback(args.amqp_url.replace("amqp://", "postgresql://"), "RabbitMQ")
    require_loopback(args.postgres_url, "PostgreSQL")
    if args.output is None:
        args.output = RESULTS / ("latest.json" if args.only == "all" else f"{args.only}.json")
    say(f"CPU: {describe_cpu(cpu_description())}")
    if args.only == "ingest":
        ingest_only(args, plan, loader)
        return
    if args.only == "latency":
        latency_only(args, plan, loader)
        return
    if args.only == "prompts":
        prompts_only(args, plan, loader)
        return
    if args.only == "review":
        review_only(args, plan, loader)
        return

    started = time.perf_counter()
    report = Report()
    texts = replies()
    with works_pace(args) as (services, base_env, work):
        say(f"rule engine ({plan.rule_seconds:g} s each)")
        measure_rules(plan, report)
        measure_http(services, plan, loader, base_env, work, texts, report)
        measure_sign_in_flood(services, plan, loader, base_env, work, texts, report)
        measure_latency(services, plan, base_env, work, report)
        measure_fairness(services, plan, report)
        say(f"consume baseline: {plan.messages} messages")
        measure_consume_baseline(services, plan, texts, report)
        e2e: dict[str, dict[str, Any]] = {"postgresql": {}, "sqlite": {}}
        for workers in plan.workers:
            say(f"end to end: postgresql, {workers} worker(s), {plan.messages} messages")
            e2e["postgresql"][str(workers)] = measure_workers(
                services,
                plan,
                base_env,
                work,
                texts,
                "postgresql",
                workers,
                plan.messages,
                timeout=120,
            )
        say(f"end to end: sqlite, 1 worker, {plan.messages} messages")
        e2e["sqlite"]["1"] = measure_workers(
            services, plan, base_env, work, texts, "sqlite", 1, plan.messages, timeout=120
        )
        report.figures["end_to_end"] = e2e
        measure_prompts(services, plan, base_env, work, texts, report)
        measure_review(services, plan, base_env, work, report)
        if plan.soak:
            say(f"soak: postgresql, 1 worker, {plan.soak} messages")
            report.figures["soak"] = measure_workers(
                services, plan, base_env, work, texts, "postgresql", 1, plan.soak, timeout=1800
            )
    publish(report, args.output, plan, loader, started)


def publish(report: Report, output: Path, plan: Plan, loader: str, started: float) -> None:
    """Print the table and write the run (figures, plan, machine, memory) as JSON."""
    table = rows(report)
    print_table(table)
    cpu = cpu_description()
    print(f"CPU: {describe_cpu(cpu)}")
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": cpu,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "plan": plan.__dict__,
        "loader": loader,
        "seconds": time.perf_counter() - started,
        "figures": report.figures,
        "memory_peak_kib": report.memory_kib,
        "table": table,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten {output} in {document['seconds']:.0f} s")


@contextmanager
def works_pace(args: argparse.Namespace) -> Iterator[tuple[Services, dict[str, str], Path]]:
    """The broker and database helpers, the environment every process gets, and a scratch
    folder holding the bench's rules; all cleaned up afterwards."""
    services = Services(args.amqp_url, args.postgres_url)
    with tempfile.TemporaryDirectory(prefix="inbound-bench-") as tmp:
        work = Path(tmp)
        write_rules(work / "rules")
        base_env = {
            "INBOUND_AMQP_URL": args.amqp_url,
            "INBOUND_LOG_LEVEL": "INFO",
            "INBOUND_RULES_DIR": str(work / "rules"),
        }
        try:
            yield services, base_env, work
        finally:
            services.close()


def ingest_only(args: argparse.Namespace, plan: Plan, loader: str) -> None:
    """`--only ingest`: the HTTP baseline and ingest alone, for tuning the receiver."""
    started = time.perf_counter()
    report = Report()
    with works_pace(args) as (services, base_env, work):
        measure_http(services, plan, loader, base_env, work, replies(), report)
    publish(report, args.output, plan, loader, started)


def latency_only(args: argparse.Namespace, plan: Plan, loader: str) -> None:
    """`--only latency`: webhook -> callback at each offered rate alone."""
    started = time.perf_counter()
    report = Report()
    with works_pace(args) as (services, base_env, work):
        measure_latency(services, plan, base_env, work, report)
    publish(report, args.output, plan, loader, started)


def prompts_only(args: argparse.Namespace, plan: Plan, loader: str) -> None:
    """`--only prompts`: the prompts section alone (lookup, end to end, imports)."""
    started = time.perf_counter()
    report = Report()
    with works_pace(args) as (services, base_env, work):
        measure_prompts(services, plan, base_env, work, replies(), report)
    publish(report, args.output, plan, loader, started)


def review_only(args: argparse.Namespace, plan: Plan, loader: str) -> None:
    """`--only review`: the review queue at scale alone."""
    started = time.perf_counter()
    report = Report()
    with works_pace(args) as (services, base_env, work):
        measure_review(services, plan, base_env, work, report)
    publish(report, args.output, plan, loader, started)


def say(line: str) -> None:
    print(f"bench: {line}", flush=True)


if __name__ == "__main__":
    main()
