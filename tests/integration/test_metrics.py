"""Prometheus metrics from a running server and from a worker-only process."""

from __future__ import annotations

import asyncio
import signal
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Stack
from tests.integration.test_pipeline import generic
from tests.support.process import INBOUND, free_port, inbound
from tests.support.waiting import eventually


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample as (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_webhooks_outcomes_and_report_queues(
    stack: Stack, namespace: str
) -> None:
    accepted = generic("yes")
    assert (await stack.post_generic(accepted)).status == 202
    assert (await stack.post_generic(generic("yes"), secret="wrong")).status == 403
    review = generic("Yes but can I change the time?")
    assert (await stack.post_generic(review)).status == 202
    await stack.processed(accepted["id"])
    await stack.processed(review["id"])
    answer = await stack.request("GET", "/metrics", b"", {})
    assert answer.status == 200
    found = samples(answer.text)
    assert (
        found[("inbound_webhooks_total", frozenset({("provider", "generic"), ("status", "202")}))]
        == 2
    )
    assert (
        found[("inbound_webhooks_total", frozenset({("provider", "generic"), ("status", "403")}))]
        == 1
    )
    assert found[("inbound_publish_seconds_count", frozenset())] == 2
    assert found[("inbound_outcomes_total", frozenset({("action", "confirm")}))] == 1
    assert found[("inbound_processed_messages_total", frozenset({("status", "review")}))] == 1
    assert found[("inbound_review_open", frozenset({("service", "appointments")}))] == 1
    assert ("inbound_queue_messages", frozenset({("queue", f"{namespace}.received")})) in found
    assert found[("inbound_spool_depth", frozenset())] == 0


async def test_unknown_provider_names_do_not_become_label_values(stack: Stack) -> None:
    for name in ("a", "b", "c"):
        await stack.request("POST", f"/webhooks/{name}", b"{}", {})
    found = samples((await stack.request("GET", "/metrics", b"", {})).text)
    providers = {
        dict(labels).get("provider")
        for (name, labels), value in found.items()
        if name == "inbound_webhooks_total" and value > 0
    }
    assert providers == {"unknown"}
    # Enabled providers' series exist at 0 (Metrics.start_at_zero); never a made-up name's.
    named = {dict(labels).get("provider") for name, labels in found if name.startswith("inbound_")}
    assert not named & {"a", "b", "c"}


async def test_worker_process_serves_health_and_metrics_on_its_own_port(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert inbound(env, "migrate").returncode == 0
    port = free_port()
    env["INBOUND_METRICS_PORT"] = str(port)
    log = tmp_path / "worker.out"
    with log.open("w") as out:
        worker = await asyncio.create_subprocess_exec(
            INBOUND, "worker", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:

        async def printed() -> str:
            return log.read_text()

        await eventually(printed, lambda text: f":{port}" in text)

        def get(path: str) -> tuple[int, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read().decode()

        health = await asyncio.to_thread(get, "/healthz")
        ready = await asyncio.to_thread(get, "/readyz")
        metrics = await asyncio.to_thread(get, "/metrics")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 20) == 0
    assert health[0] == 200
    assert ready[0] == 200
    assert "inbound_queue_messages" in metrics[1]
    # The process and garbage-collector collectors are on the registry each process serves.
    exposed = samples(metrics[1])
    assert exposed[("process_cpu_seconds_total", frozenset())] > 0
    assert exposed[("process_resident_memory_bytes", frozenset())] > 0
    assert ("python_gc_collections_total", frozenset({("generation", "0")})) in exposed


async def test_every_answer_carries_a_request_id_and_a_safe_one_is_kept(stack: Stack) -> None:
    async with stack.http.get(stack.base_url + "/healthz") as response:
        assert len(response.headers["X-Request-Id"]) == 32
    async with stack.http.get(
        stack.base_url + "/healthz", headers={"X-Request-Id": "abc123"}
    ) as response:
        assert response.headers["X-Request-Id"] == "abc123"
    async with stack.http.get(
        stack.base_url + "/healthz", headers={"X-Request-Id": "x y=z"}
    ) as response:
        assert response.headers["X-Request-Id"] != "x y=z"
