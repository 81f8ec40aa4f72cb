"""The deployment files, checked with what runs here: no Docker engine, so no image build."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import aio_pika
import yaml

from inbound.broker.topology import BrokerNames, declare, declare_actions
from tests.support.process import INBOUND, inbound

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def is_command(name: str) -> bool:
    """True when `inbound NAME` is a real subcommand."""
    result = subprocess.run([INBOUND, name, "--help"], capture_output=True, check=False)
    return result.returncode == 0


def test_compose_file_runs_separate_processes_of_one_image() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "postgres", "web", "worker", "review"} <= set(
        services
    )
    for name in ("web", "worker", "review", "migrate"):
        assert services[name]["image"] == "inbound:local"
        assert is_command(services[name]["command"][0])
    assert services["web"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    for node in ("rabbitmq-1", "rabbitmq-2", "rabbitmq-3"):
        assert services[node]["environment"]["RABBITMQ_ERLANG_COOKIE"]


def test_cloud_foundry_manifest_uses_the_procfile_processes() -> None:
    manifest = yaml.safe_load((DEPLOY / "manifest.yml").read_text())
    [app] = manifest["applications"]
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert {process["type"] for process in app["processes"]} <= set(procfile)
    web = next(p for p in app["processes"] if p["type"] == "web")
    assert web["health-check-http-endpoint"] == "/readyz"
    # The process providers reach serves the webhooks alone; staff pages run as `review`.
    assert "--webhooks-only" in procfile["web"]
    assert "inbound review" in procfile["review"]


async def test_rabbitmq_definitions_match_what_inbound_declares(
    amqp_url: str, namespace: str
) -> None:
    definitions = json.loads(
        (DEPLOY / "rabbitmq" / "definitions.json").read_text().replace('"inbound', f'"{namespace}')
    )
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for exchange in definitions["exchanges"]:
            await channel.declare_exchange(exchange["name"], exchange["type"], durable=True)
        for queue in definitions["queues"]:
            await channel.declare_queue(queue["name"], durable=True, arguments=queue["arguments"])
        # Declaring with different arguments would fail with PRECONDITION_FAILED.
        await declare(channel, BrokerNames(namespace), delivery_limit=5)
        await declare_actions(channel, BrokerNames(namespace), [])


def test_entrypoint_migrates_once_then_runs_the_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    env["PATH"] = f"{Path(INBOUND).parent}:{env['PATH']}"
    env["INBOUND_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'entry.db'}"
    env["INBOUND_MIGRATE_ON_START"] = "1"
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "database migrated from empty" in result.stdout
    assert f"INBOUND_DATABASE_URL=sqlite+aiosqlite:///{tmp_path / 'entry.db'}" in result.stdout
    assert "up to date" in inbound(env, "migrate").stdout


def test_procfile_processes_start_and_serve(env: dict[str, str], tmp_path: Path) -> None:
    assert inbound(env, "migrate").returncode == 0
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    env = {**env, "PATH": f"{Path(INBOUND).parent}:{env['PATH']}", "PORT": env["INBOUND_PORT"]}
    processes = {}
    try:
        for name in ("web", "worker"):
            out = (tmp_path / f"{name}.out").open("w")
            processes[name] = subprocess.Popen(
                ["sh", "-c", procfile[name]], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            printed = {n: (tmp_path / f"{n}.out").read_text() for n in processes}
            if "listening on" in printed["web"] and "consuming" in printed["worker"]:
                break
            time.sleep(0.2)
        assert "listening on" in printed["web"], printed
        assert f":{env['PORT']}" in printed["web"]
        assert "consuming" in printed["worker"], printed
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=20) for process in processes.values()]
    assert codes == [0, 0], shlex.join(procfile.values())
