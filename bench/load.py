"""The load generator: signed Twilio webhooks at a fixed concurrency, with wrk or aiohttp.

    .venv/bin/python bench/load.py URL REQUESTS_FILE --concurrency 32 --seconds 5 --warmup 2

REQUESTS_FILE holds two lines per request, the form body and its X-Twilio-Signature; requests
are sent in turn, round and round. Prints one JSON line: requests, seconds, errors, non_2xx,
p50_ms, p99_ms, counted after the warm-up only. The same file and concurrency go to the
baseline and to `inbound serve`, so the two are measured alike.

`wrk_command` builds the equivalent wrk run (bench/wrk.lua reads the same file); the runner
uses wrk when it is installed (Debian's `wrk` package), as it takes less CPU from the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk.lua"
FORM = "application/x-www-form-urlencoded"


def read_requests(path: Path) -> list[tuple[bytes, str]]:
    """(body, signature) pairs from a requests file."""
    lines = path.read_text(encoding="ascii").splitlines()
    return [(lines[i].encode("ascii"), lines[i + 1]) for i in range(0, len(lines) - 1, 2)]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values lie (nearest rank)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def drive(
    url: str, requests: list[tuple[bytes, str]], concurrency: int, seconds: float, warmup: float
) -> dict[str, float]:
    """Keep `concurrency` requests in flight for warmup + seconds; count the second part."""
    cycle = itertools.cycle(requests)
    latencies: list[float] = []
    counts = {"errors": 0, "non_2xx": 0}
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async def one_client(http: aiohttp.ClientSession) -> None:
        while (now := time.perf_counter()) < stop_at:
            body, signature = next(cycle)
            headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
            except (aiohttp.ClientError, TimeoutError):
                ok = None
            done = time.perf_counter()
            if now < measure_from:
                continue
            latencies.append(done - now)
            if ok is None:
                counts["errors"] += 1
            elif not ok:
                counts["non_2xx"] += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(one_client(http) for _ in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": counts["errors"],
        "non_2xx": counts["non_2xx"],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def wrk_command(url: str, requests_file: Path, concurrency: int, seconds: float) -> list[str]:
    """A wrk run on one thread (the servers need the other core) over the same requests."""
    return [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(requests_file),
    ]


def parse_wrk(output: str) -> dict[str, float]:
    """The JSON line bench/wrk.lua prints at the end, in the same units as `drive`."""
    line = next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    raw = json.loads(line)
    return {
        "requests": raw["requests"],
        "seconds": raw["duration_us"] / 1e6,
        "errors": raw["errors"],
        "non_2xx": raw["non_2xx"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("requests_file", type=Path)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    requests = read_requests(args.requests_file)
    result = asyncio.run(drive(args.url, requests, args.concurrency, args.seconds, args.warmup))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
