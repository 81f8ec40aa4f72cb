"""`bench/run.py --only prompts` (issue 15's prompts at scale) runs, tiny, against the real
services and reports every figure; the comparisons are what they claim to be.

No timed assertions: this checks the benchmark works and measures the right thing, not how fast
this machine is.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from inbound.store.database import create_engine
from tests.conftest import ROOT

PROMPTS, IMPORTED, MESSAGES = 5_000, 2_500, 1_000


def test_prompt_benches_measure_what_they_say(
    amqp_url: str, postgres_server_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "prompts.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--only=prompts",
            f"--prompts={PROMPTS}",
            f"--prompt-import={IMPORTED}",
            f"--messages={MESSAGES}",
            f"--amqp-url={amqp_url}",
            f"--postgres-url={postgres_server_url}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text())
    figures = results["figures"]
    prompts = figures["prompts"]
    assert prompts["load"]["prompts"] == PROMPTS
    check_lookup(prompts["lookup"], results["plan"])
    check_batch(prompts["batch"], results["plan"])
    check_end_to_end(prompts["end_to_end"], results["plan"])
    check_imports(figures["prompt_import"], results["plan"])
    rows = results["table"]
    assert len(rows) == 9, rows
    assert all(row["ratio"] is not None and row["value"] >= 0 for row in rows), rows
    for target in ("at most +1 ms", "at least 0.9", "under 60 s"):
        assert f"target: {target}" in done.stdout
    # Both databases, the loaded one included, are gone once the bench is done.
    assert not asyncio.run(databases_left(postgres_server_url, prompts["databases"]))


def check_lookup(lookup: dict[str, Any], plan: dict[str, Any]) -> None:
    """Each reply was looked up on both databases, after a discarded warm-up, by the index."""
    timed = plan["prompt_lookups"] - max(1, plan["prompt_lookups"] // 10)
    assert lookup["replies"] == timed
    # Every lookup of the loaded database (warm-up included) scanned the sender's index; a
    # sequential scan of the table would count none.
    assert lookup["index_scans"] >= plan["prompt_lookups"], lookup
    for name in ("loaded", "empty"):
        assert lookup[name]["p99_ms"] >= lookup[name]["p50_ms"] > 0, lookup
    added = lookup["loaded"]["p99_ms"] - lookup["empty"]["p99_ms"]
    assert math.isclose(lookup["added_p99_ms"], added)


def check_batch(batch: dict[str, Any], plan: dict[str, Any]) -> None:
    """The batches alone: each database timed the same number of full batches after the
    warm-up, and the ratio is of their medians."""
    assert batch["size"] == plan["prefetch"]
    assert batch["batches"] == plan["prompt_batches"] - max(1, plan["prompt_batches"] // 8)
    assert batch["loaded_median_ms"] > 0, batch
    assert batch["empty_median_ms"] > 0, batch
    assert math.isclose(batch["ratio"], batch["empty_median_ms"] / batch["loaded_median_ms"])


def check_end_to_end(e2e: dict[str, Any], plan: dict[str, Any]) -> None:
    """Runs alternated with and without prompts; with them, the worker matched every reply to
    its sender's open prompt and recorded the answer; without, the same replies acted alone."""
    assert len(e2e["ratio_runs"]) == plan["prompt_runs"]
    for name in ("loaded", "empty"):
        assert len(e2e["runs"][name]) == plan["prompt_runs"]
        for run in e2e["runs"][name]:
            assert run["stored"] == MESSAGES, run
            assert not run["timed_out"], run
            assert run["counts"].get("messages_processed") == MESSAGES, run["counts"]
            answered = MESSAGES if name == "loaded" else 0
            assert run["counts"]["answered"] == answered, run["counts"]
    assert e2e["answered"] == MESSAGES * plan["prompt_runs"]
    # The machine's CPU a message in each run's steady window (NaN where the run had none, as
    # for its pace), the median of those that had one, and the ratio of the medians.
    for name in ("loaded", "empty"):
        spent = []
        for run in e2e["runs"][name]:
            if run["steady_rate"]:
                assert run["steady_cpu_ms"] > 0, run
                spent.append(run["steady_cpu_ms"])
            else:
                assert math.isnan(run["steady_cpu_ms"]), run
        if spent:
            assert e2e["cpu_ms_per_message"][name] == statistics.median(spent)
    cpu = e2e["cpu_ms_per_message"]
    if not math.isnan(cpu["loaded"] + cpu["empty"]):
        assert math.isclose(e2e["cpu_ratio"], cpu["empty"] / cpu["loaded"])
    # Each ratio is of the runs that ran side by side, at their steady pace (NaN when a run
    # was too short to have one, which a loaded machine can make happen); the whole-run ratios
    # are beside them.
    for ratio, whole, loaded, empty in zip(
        e2e["ratio_runs"],
        e2e["whole_run_ratios"],
        e2e["runs"]["loaded"],
        e2e["runs"]["empty"],
        strict=True,
    ):
        if loaded["steady_rate"] and empty["steady_rate"]:
            assert ratio == loaded["steady_rate"] / empty["steady_rate"]
        else:
            assert math.isnan(ratio)
        if empty["rate"]:
            assert whole == loaded["rate"] / empty["rate"]
        else:
            assert math.isnan(whole)


def check_imports(imports: dict[str, Any], plan: dict[str, Any]) -> None:
    """Both imports stored every prompt (the bench checks the count and the summary line)."""
    assert imports["prompts"] == IMPORTED
    assert len(imports["api"]["batch_seconds"]) == math.ceil(IMPORTED / plan["prompt_batch"])
    assert f"imported {IMPORTED:,} prompts" in imports["csv"]["said"]
    assert f"{IMPORTED:,} new" in imports["csv"]["said"]
    for how in ("api", "csv", "baseline"):
        assert imports[how]["rate"] > 0, imports


async def databases_left(server_url: str, names: list[str]) -> list[str]:
    engine = create_engine(server_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.scalars(
                text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"),
                {"names": names},
            )
            return list(found)
    finally:
        await engine.dispose()
