"""`bench/run.py --quick` runs end to end against the real services and reports every figure.

No timed assertions: this checks the benchmark works, not how fast this machine is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def test_quick_bench_writes_every_figure(
    amqp_url: str, postgres_server_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "latest.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            f"--amqp-url={amqp_url}",
            f"--postgres-url={postgres_server_url}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text())
    figures = results["figures"]
    for name in ("baseline_http", "ingest"):
        assert figures[name]["rps"] > 0
        assert figures[name]["p50_ms"] > 0
        assert figures[name]["p99_ms"] >= figures[name]["p50_ms"]
        # A server that answered requests used some CPU for them, and at most the machine's.
        assert figures[name]["server_cpu_ms"] > 0
        assert 0 < figures[name]["server_busy"] <= results["machine"]["cpus"]
        assert 0 < figures[name]["machine_busy"] <= 1
    flood = figures["sign_in_flood"]
    assert set(flood) == {"quiet", "flooded, same process", "flooded, --webhooks-only + review"}
    for name, case in flood.items():
        assert case["p99_ms"] >= case["p50_ms"] > 0, name
        # The flood really ran against the sign-in page (and was answered, not refused at the
        # door: a CSRF failure would be 403s).
        assert (case["sign_in_attempts_per_s"] > 0) is (name != "quiet"), name
        assert "403" not in case["sign_in_statuses"], case["sign_in_statuses"]
    assert figures["baseline_consume"]["rate"] > 0
    assert set(figures["end_to_end"]["postgresql"]) == {"1", "2", "4"}
    assert set(figures["end_to_end"]["sqlite"]) == {"1"}
    for by_workers in figures["end_to_end"].values():
        for run in by_workers.values():
            assert run["stored"] == run["messages"], run
            assert all(peak for peak in run["peak_kib"])
    assert figures["rules"]["rate"] > 0
    assert figures["baseline_rules"]["rate"] > 0
    check_latency(figures, done.stdout)
    fairness = figures["fairness"]
    for case in ("quiet", "a_hangs", "a_floods"):
        assert fairness[case]["b_p99_ms"] > 0, fairness
    assert "fairness: B's callback p99" in done.stdout
    for process in ("baseline-http", "inbound-serve", "baseline-consume"):
        assert results["memory_peak_kib"][process]
    assert all(row["ratio"] is not None for row in results["table"])
    assert "ingest" in done.stdout
    # Runs can be compared across machines: the CPU model and its caches are printed and kept.
    cpu = results["machine"]["cpu"]
    assert cpu["model"], cpu
    assert cpu["caches"], cpu
    assert f"CPU: {cpu['model']}" in done.stdout
    assert len(figures["ingest"]["ratio_runs"]) == results["plan"]["runs"]
    assert figures["ingest"]["ratio_median"] > 0


def check_latency(figures: dict[str, Any], stdout: str) -> None:
    """Webhook -> callback at each offered rate: every webhook answered, figures from due time."""
    latency = figures["latency"]
    assert latency["database"] == "postgresql"
    assert set(latency["rates"]) == {"200", "500", "1000"}
    for rate, case in latency["rates"].items():
        assert case["offered_per_s"] == int(rate)
        assert case["sent"] == round(int(rate) * latency["seconds_each"]), case
        assert case["webhooks_2xx"] == case["sent"], case
        # Counted from the time each webhook was due, open loop: never below the answer time.
        assert case["callback_p50_ms"] >= case["webhook_p50_ms"] > 0, case
        assert case["callback_p99_ms"] >= case["callback_p50_ms"], case
        assert isinstance(case["sustained"], bool)
        assert case["limit"], case
        # What limits it is measured: each process's CPU and the queues were sampled.
        assert case["cpu_share"]["inbound serve"] > 0, case
        assert case["cpu_share"]["inbound worker"] > 0, case
        assert set(case["queue_depth_max"]) == {"received", "actions", "not yet called back"}
        assert f"latency at {rate}/s" in stdout


def test_quick_latency_section_alone(
    amqp_url: str, postgres_server_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "latency.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--only=latency",
            f"--amqp-url={amqp_url}",
            f"--postgres-url={postgres_server_url}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text())
    check_latency(results["figures"], done.stdout)
    rows = [row for row in results["table"] if row["figure"].startswith("webhook -> callback")]
    assert len(rows) == 3
    assert all(row["ratio"] is not None for row in rows)
