"""The deployment files, checked with what runs here: no Docker engine, so no image build."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import yaml
from yarl import URL

from inbound.broker.topology import BrokerNames
from tests.integration.cluster_support import AWAIT_CLUSTER, PASSWORD, USER, VHOST
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
    # Every service restarts by itself; one-shot jobs only when they fail.
    for name, service in services.items():
        one_shot = name in ("migrate", "rabbitmq-cluster")
        assert service["restart"] == ("on-failure" if one_shot else "unless-stopped"), name
    # Every process lists every node, and starts once the cluster is whole (what the cluster
    # test runs: tests/integration/test_rabbitmq_cluster.py).
    assert tuple(services["rabbitmq-cluster"]["command"][:5]) == AWAIT_CLUSTER
    for name in ("web", "worker", "review", "migrate"):
        urls = services[name]["environment"]["INBOUND_AMQP_URL"].split(",")
        assert [URL(url).host for url in urls] == ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3"]
        assert {(URL(url).user, URL(url).password, URL(url).path) for url in urls} == {
            (USER, PASSWORD, f"/{VHOST}")
        }
    for name in ("web", "worker", "review"):
        assert "rabbitmq-cluster" in services[name]["depends_on"]


def test_compose_gives_every_replica_its_own_host_port() -> None:
    # Two `web` replicas on one host port: the second container cannot start.
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    taken: list[int] = []
    for name, service in services.items():
        for mapping in service.get("ports", []):
            host = str(mapping).rsplit(":", 1)[0]
            first, _, last = host.partition("-")
            ports = list(range(int(first), int(last or first) + 1))
            assert len(ports) >= service.get("deploy", {}).get("replicas", 1), name
            taken += ports
    assert len(taken) == len(set(taken)), taken


def test_cloud_foundry_manifest_uses_the_procfile_processes() -> None:
    manifest = yaml.safe_load((DEPLOY / "manifest.yml").read_text())
    [app] = manifest["applications"]
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert {process["type"] for process in app["processes"]} <= set(procfile)
    web = next(p for p in app["processes"] if p["type"] == "web")
    # Liveness restarts, readiness only takes out of the routes (docs/operations.md, Health).
    assert web["health-check-http-endpoint"] == "/healthz"
    assert web["readiness-health-check-http-endpoint"] == "/readyz"
    # The process providers reach serves the webhooks alone; staff pages run as `review`.
    assert "--webhooks-only" in procfile["web"]
    assert "inbound review" in procfile["review"]


def test_rabbitmq_definitions_leave_the_queues_to_inbound() -> None:
    # A quorum queue gets its members when declared: declared by the definitions, the first
    # node to boot would make every queue alone, with no replica (the cluster test found it).
    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    assert not {"queues", "exchanges", "bindings"} & set(definitions)
    [permissions] = definitions["permissions"]
    names = BrokerNames("inbound")
    declared = [names.exchange, names.dead_exchange, names.received, names.dead, names.actions]
    for name in [*declared, *(names.retry(delay) for delay in (0.2, 3600.0))]:
        for kind in ("configure", "write", "read"):
            assert re.fullmatch(permissions[kind], name), (kind, name)
    # A retry goes to its delay queue through the default exchange (the cluster test found
    # every retry refused, and the channel closed, without this).
    assert re.fullmatch(permissions["write"], "amq.default")


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
