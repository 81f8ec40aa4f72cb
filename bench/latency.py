"""Latency a service feels: webhook → callback, offered open loop at a fixed rate.

bench/run.py starts `inbound serve`, `inbound worker` (rules and actions) on PostgreSQL and
bench/callback_receiver.py, then calls `offer` once per rate. Open loop: request i is due at
start + i / rate whether or not earlier ones were answered, and every latency is counted from
that due time, so a server that falls behind shows its queueing in the figures instead of
slowing the load down (no coordinated omission). While the load runs, `offer` samples each
process's CPU from /proc and the RabbitMQ queue depths, so `summarise` can say what limited the
rate: a process using a whole core, the machine's cores, or a queue that kept growing.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp

FORM = "application/x-www-form-urlencoded"
SAMPLE_EVERY = 0.5  # seconds between CPU and queue samples
TICK = os.sysconf("SC_CLK_TCK")
# A process using this share of one core or more is taken as saturated (it is single-threaded).
SATURATED_CORE = 0.9
# The machine's CPU is the limit when this share of all its cores was busy.
SATURATED_MACHINE = 0.95


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of `names` (RabbitMQ's beam.smp, postgres)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class Step:
    """One rate's raw results: when each webhook was due and answered, and the samples."""

    rate: float
    seconds: float
    due: dict[str, float] = field(default_factory=dict)  # message id -> monotonic due time
    answered: dict[str, tuple[float, int]] = field(default_factory=dict)  # -> (time, status)
    send_lag: list[float] = field(default_factory=list)  # sent minus due, seconds
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds in the window
    machine_busy: float = 0.0  # share of all cores busy in the window
    # (t, received queue, actions queue, webhooks answered 2xx, callbacks received so far)
    depths: list[tuple[float, int, int, int, int]] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)


async def _depths(channel: aio_pika.abc.AbstractChannel, queues: Sequence[str]) -> list[int]:
    counts = []
    for name in queues:
        queue = await channel.declare_queue(name, passive=True)
        counts.append(queue.declaration_result.message_count or 0)
    return counts


async def offer(
    url: str,
    requests: Sequence[tuple[str, bytes, str]],
    rate: float,
    processes: Mapping[str, Sequence[int]],
    amqp_url: str,
    queues: Sequence[str],
    results_url: str,
) -> Step:
    """Send `requests` ((message id, body, signature)) at `rate` a second, open loop.

    Returns when every request has been answered (or failed); callbacks are collected after.
    """
    step = Step(rate=rate, seconds=len(requests) / rate)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    tasks: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)

    async def one(http: aiohttp.ClientSession, message_id: str, body: bytes, sig: str) -> None:
        headers = {"Content-Type": FORM, "X-Twilio-Signature": sig}
        try:
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                step.answered[message_id] = (time.monotonic(), response.status)
        except (aiohttp.ClientError, TimeoutError):
            step.errors += 1

    async def sample(http: aiohttp.ClientSession, until: float) -> None:
        before: int | None = None  # callbacks the receiver had from earlier rates
        while time.monotonic() < until:
            received, actions = await _depths(channel, queues)
            async with http.get(results_url) as answer:
                count = (await answer.json())["count"]
            before = count if before is None else before
            callbacks = count - before  # this rate's (and any earlier rate's late ones)
            accepted = sum(1 for _, status in step.answered.values() if 200 <= status < 300)
            step.depths.append((time.monotonic(), received, actions, accepted, callbacks))
            await asyncio.sleep(SAMPLE_EVERY)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        # Per process, so that one that exits meanwhile (a database backend) counts as nothing
        # rather than as negative time.
        cpu_before = {pid: process_cpu(pid) for pids in processes.values() for pid in pids}
        busy_before, total_before = machine_cpu()
        start = time.monotonic() + 0.05
        sampler = asyncio.create_task(sample(http, start + step.seconds))
        for i, (message_id, body, signature) in enumerate(requests):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            step.due[message_id] = due
            step.send_lag.append(time.monotonic() - due)
            task = asyncio.create_task(one(http, message_id, body, signature))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        end = time.monotonic()
        busy_after, total_after = machine_cpu()
        step.cpu = {
            name: sum(max(0.0, process_cpu(pid) - cpu_before[pid]) for pid in pids)
            for name, pids in processes.items()
        }
        step.machine_busy = (busy_after - busy_before) / max(total_after - total_before, 1e-9)
        step.window = (start, end)
        await sampler
        if tasks:
            await asyncio.wait(tasks, timeout=60)
    await connection.close()
    return step


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; inf when a value is missing (a callback that never came)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summarise(step: Step, arrivals: Mapping[str, float], duplicates: int) -> dict[str, Any]:
    """Percentiles from due time, achieved rates, CPU shares, queue growth and the limit."""
    start, end = step.window
    window = max(end - start, 1e-9)
    sent = len(step.due)
    ok = sum(1 for _, status in step.answered.values() if 200 <= status < 300)
    webhook = [t - step.due[m] for m, (t, _) in step.answered.items()]
    callback = [arrivals[m] - step.due[m] if m in arrivals else float("inf") for m in step.due]
    received = sum(1 for m in step.due if m in arrivals)
    # Completions a second in the second half of the window, once the pipeline has filled.
    half = start + window / 2
    in_half = sum(1 for m in step.due if half <= arrivals.get(m, float("inf")) <= end)
    achieved = in_half / (end - half) if end > half else 0.0
    answered_half = sum(1 for t, _ in step.answered.values() if half <= t <= end)
    webhooks_achieved = answered_half / (end - half) if end > half else 0.0
    shares = {name: cpu / window for name, cpu in step.cpu.items()}
    # Growth a second, from the first sample a quarter into the window (the pipeline filled) to
    # the last: the received queue (waiting for the rules worker), the actions queue, and
    # messages accepted but not yet called back (queued or in flight anywhere after the webhook).
    settled = [d for d in step.depths if d[0] >= start + window / 4] or step.depths
    first = settled[0] if settled else (start, 0, 0, 0, 0)
    last = settled[-1] if settled else (end, 0, 0, 0, 0)
    span = max(last[0] - first[0], 1e-9)
    growth = {
        "received queue": (last[1] - first[1]) / span,
        "actions queue": (last[2] - first[2]) / span,
        "not yet called back": ((last[3] - last[4]) - (first[3] - first[4])) / span,
    }
    sustained = (
        ok == sent
        and received == sent
        and achieved >= 0.95 * step.rate
        and growth["not yet called back"] < 0.05 * step.rate
    )
    return {
        "offered_per_s": step.rate,
        "seconds": window,
        "sent": sent,
        "webhooks_2xx": ok,
        "webhook_errors": step.errors + sent - len(step.answered),
        "webhooks_achieved_per_s": webhooks_achieved,
        "callbacks": received,
        "callback_duplicates": duplicates,
        "achieved_per_s": achieved,
        "sustained": sustained,
        "webhook_p50_ms": percentile(webhook, 0.50) * 1000,
        "webhook_p99_ms": percentile(webhook, 0.99) * 1000,
        "callback_p50_ms": percentile(callback, 0.50) * 1000,
        "callback_p99_ms": percentile(callback, 0.99) * 1000,
        "send_lag_p99_ms": percentile(step.send_lag, 0.99) * 1000,
        "cpu_share": shares,
        "machine_busy": step.machine_busy,
        "queue_depth_max": {
            "received": max((d[1] for d in step.depths), default=0),
            "actions": max((d[2] for d in step.depths), default=0),
            "not yet called back": max((d[3] - d[4] for d in step.depths), default=0),
        },
        "queue_growth_per_s": growth,
        "limit": limit(shares, step.machine_busy, growth, step.rate, sustained),
    }


def limit(
    shares: Mapping[str, float],
    machine_busy: float,
    growth: Mapping[str, float],
    rate: float,
    sustained: bool,
) -> str:
    """What held the rate back (or what was busiest, when nothing did), from the measurements."""
    busiest = sorted(shares.items(), key=lambda item: -item[1])
    top = ", ".join(f"{name} {share:.0%}" for name, share in busiest[:3])
    saturated = [name for name, share in busiest if share >= SATURATED_CORE]
    queue = next(
        (
            f"{name} growing {speed:,.0f}/s"
            for name, speed in sorted(growth.items(), key=lambda item: -item[1])
            if speed >= 0.05 * rate
        ),
        None,
    )
    reasons = []
    if saturated:
        reasons.append(f"CPU of {' and '.join(saturated)} (a core each)")
    if machine_busy >= SATURATED_MACHINE:
        reasons.append(f"the machine's cores ({machine_busy:.0%} busy)")
    if queue:
        reasons.append(queue)
    behind = growth.get("not yet called back", 0.0) >= 0.05 * rate
    if behind and growth.get("received queue", 0.0) < 0.05 * rate:
        # Decided on time (the received queue keeps up) but called back late: the action
        # worker's pace (a few callbacks in flight per service, a transaction or more each).
        worker = shares.get("inbound worker", 0.0)
        waiting = ", waiting rather than computing" if worker < SATURATED_CORE else ""
        reasons.append(f"the action worker's pace (worker at {worker:.0%} of a core{waiting})")
    elif behind:
        reasons.append("the rules worker (the received queue grows)")
    if not sustained and not reasons:
        reasons.append("not sustained with no process or queue saturated")
    head = "; ".join(reasons) if reasons else "nothing saturated"
    return f"{head} [CPU of a core: {top}]"
