"""Instructions a webhook costs, counted by valgrind's callgrind: a figure that does not move with
the machine's load or clock, unlike CPU time (see docs/performance.md).

    .venv/bin/python bench/instructions.py [--requests 400] [--warmup 300] [--concurrency 8]
                                           [--only baseline|ingest] [--keep DIR]

Starts the HTTP baseline (bench/baseline.py serve) and `inbound serve` (signed Twilio, as the
bench) each under `valgrind --tool=callgrind --cache-sim=yes`, with instrumentation off until the
server is listening (start-up is not counted). Then: `--warmup` requests, a dump, `--requests`
requests, a dump. The second dump holds only the measured requests (and whatever the event loop
did meanwhile), so its totals divided by the requests are the cost of one: instructions (Ir),
simulated L1 instruction and data misses (I1mr, D1mr + D1mw) and last-level misses. Prints one
line per server and their ratio; writes JSON to --output. Needs valgrind (Debian's package).
With --keep the callgrind files stay, for `callgrind_annotate FILE | head -60`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from load import FORM, read_requests
from run import (
    HERE,
    INBOUND,
    PYTHON,
    Services,
    free_port,
    inbound_env,
    serve_env,
    write_requests,
)

from rules import replies

# The simulated caches: L1 as this machine's (32 KiB each), and a 512 KiB last level, the size of
# this machine's per-core L2, so "LL misses" count what a request needs beyond L2: its footprint.
CACHES = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=524288,8,64")
EVENTS = ("Ir", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")


async def send(url: str, requests: list[tuple[bytes, str]], count: int, concurrency: int) -> int:
    """Send `count` requests, `concurrency` at a time; returns how many got a 2xx."""
    queue = iter(range(count))
    ok = 0
    timeout = aiohttp.ClientTimeout(total=120)

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal ok
        for i in queue:
            body, signature = requests[i % len(requests)]
            headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                ok += 200 <= response.status < 300

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return ok


def totals(path: Path) -> tuple[str, int, dict[str, int]]:
    """A callgrind output file's trigger (the dump's name), thread and totals by event."""
    events: list[str] = []
    values: list[int] = []
    trigger, thread = "", 1
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith(("summary:", "totals:")):
            values = [int(v) for v in line.split()[1:]]
        elif line.startswith("desc: Trigger:"):
            trigger = line.split()[-1]
        elif line.startswith("thread:"):
            thread = int(line.split()[1])
    return trigger, thread, dict(zip(events, values, strict=False))


def dumped(folder: Path, name: str, trigger: str) -> tuple[dict[str, int], dict[str, int]]:
    """The totals of one dump: the main thread's and all threads'."""
    main: dict[str, int] = {}
    every: dict[str, int] = {}
    for path in folder.glob(f"{name}.callgrind*"):
        found, thread, values = totals(path)
        if found != trigger:
            continue
        for event, value in values.items():
            every[event] = every.get(event, 0) + value
            if thread == 1:
                main[event] = main.get(event, 0) + value
    return main, every


def control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=300)


def wait_for(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path.name}: server not ready ({process.poll()})")
        time.sleep(0.2)


def count(
    name: str,
    command: list[str],
    env: dict[str, str],
    url: str,
    requests: list[tuple[bytes, str]],
    args: argparse.Namespace,
    folder: Path,
) -> dict[str, Any]:
    """Instructions and simulated cache misses a request, for one server under callgrind."""
    out = folder / f"{name}.callgrind"
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--cache-sim=yes",
        "--instr-atstart=no",
        "--separate-threads=yes",
        *CACHES,
        f"--callgrind-out-file={out}",
    ]
    log = folder / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([*valgrind, *command], env=env, stdout=sink, stderr=sink)
    try:
        wait_for(log, "listening on", process, timeout=600)
        control("--instr=on", str(process.pid))
        warm = asyncio.run(send(url, requests, args.warmup, args.concurrency))
        control("--dump=warm-up", str(process.pid))
        # What the process does with no requests (timers, periodic tasks, other threads), per
        # second: under valgrind a request takes ~50 times as long, so without subtracting it,
        # time-driven work would look like a cost of each request.
        started = time.perf_counter()
        time.sleep(args.idle)
        control("--dump=idle", str(process.pid))
        idle_seconds = time.perf_counter() - started
        started = time.perf_counter()
        ok = asyncio.run(send(url, requests, args.requests, args.concurrency))
        took = time.perf_counter() - started
        control("--dump=measured", str(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=120)
    main, every = dumped(folder, name, "measured")
    idle_main, idle_every = dumped(folder, name, "idle")

    def per_request(busy: dict[str, int], idle: dict[str, int]) -> dict[str, float]:
        return {
            event: (busy.get(event, 0) - idle.get(event, 0) * took / idle_seconds) / args.requests
            for event in EVENTS
        }

    return {
        "requests": args.requests,
        "ok": ok,
        "warm_ok": warm,
        "seconds_under_valgrind": took,
        "idle_seconds": idle_seconds,
        # The main thread (the event loop: every request's work), less its idle rate.
        "per_request": per_request(main, idle_main),
        # Every thread, less their idle rate.
        "per_request_all_threads": per_request(every, idle_every),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--idle", type=float, default=8.0, help="seconds measured without load")
    parser.add_argument("--only", choices=["both", "baseline", "ingest"], default="both")
    parser.add_argument("--keep", type=Path, default=None, help="keep callgrind files here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an INBOUND_ setting for inbound serve, e.g. --set LOG_LEVEL=WARNING",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "instructions.json")
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("INBOUND_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions.py needs valgrind (apt-get install valgrind)")
    services = Services(args.amqp_url, "postgresql://unused@127.0.0.1/unused")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="inbound-instr-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        work = Path(tmp)
        (work / "rules").mkdir()
        base_env = {"INBOUND_AMQP_URL": args.amqp_url, "INBOUND_LOG_LEVEL": "INFO"}
        texts = replies()
        try:
            if args.only in ("both", "baseline"):
                namespace, port = services.namespace(), free_port()
                url = f"http://127.0.0.1:{port}/webhooks/twilio"
                write_requests(work / "baseline.requests", url, texts)
                command = [
                    PYTHON,
                    str(HERE / "baseline.py"),
                    "serve",
                    f"--port={port}",
                    f"--amqp-url={args.amqp_url}",
                    f"--namespace={namespace}",
                ]
                env = inbound_env(base_env)
                reqs = read_requests(work / "baseline.requests")
                results["baseline"] = count("baseline", command, env, url, reqs, args, folder)
            if args.only in ("both", "ingest"):
                namespace, port = services.namespace(), free_port()
                url = f"http://127.0.0.1:{port}/webhooks/twilio"
                write_requests(work / "ingest.requests", url, texts)
                extra = dict(item.split("=", 1) for item in args.set)
                env = serve_env(
                    {**base_env, **{f"INBOUND_{k.upper()}": v for k, v in extra.items()}},
                    namespace,
                    work / "serve.db",
                    port,
                )
                reqs = read_requests(work / "ingest.requests")
                command = [INBOUND, "serve"]
                results["ingest"] = count("ingest", command, env, url, reqs, args, folder)
        finally:
            services.close()
    print(
        "per request, event-loop thread, less its idle rate; simulated caches: " + " ".join(CACHES)
    )
    for name, result in results.items():
        per = result["per_request"]
        print(
            f"{name:<9} {per['Ir']:>10,.0f} instructions/request  "
            f"I1 misses {per['I1mr']:>7,.0f}  D1 misses {per['D1mr'] + per['D1mw']:>7,.0f}  "
            f"LL misses {per['ILmr'] + per['DLmr'] + per['DLmw']:>6,.0f}  "
            f"({result['ok']}/{result['requests']} 2xx)"
        )
    if len(results) == 2:
        b, i = results["baseline"]["per_request"], results["ingest"]["per_request"]
        print(
            f"ingest / baseline: instructions {i['Ir'] / b['Ir']:.2f}x, "
            f"I1 misses {i['I1mr'] / max(b['I1mr'], 1):.2f}x, "
            f"D1 misses {(i['D1mr'] + i['D1mw']) / max(b['D1mr'] + b['D1mw'], 1):.2f}x"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
