"""Three RabbitMQ nodes of the machine's own RabbitMQ, clustered, for the cluster test.

Each node has its own name, AMQP and distribution ports, data and log folders, under one
temporary folder with its own Erlang cookie and its own epmd, so nothing is shared with the
system's RabbitMQ (which keeps running on 5672). The nodes load deploy/rabbitmq/definitions.json
and the settings of deploy/rabbitmq/rabbitmq.conf, as the compose file's nodes do; only the
peer discovery differs (compose names its containers, here `rabbitmqctl join_cluster` joins).

Nodes run the Debian package's own server script (the wrapper on PATH resets the environment),
as the `rabbitmq` user when the tests run as root. Each node's standard input is a pipe this
process holds: the Erlang VM halts when it closes, so a node ends with the test process even
when that is killed outright; epmd is killed with it (PR_SET_PDEATHSIG). Normally every node is
killed, and the folder removed, when the cluster is closed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.process import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_RABBITMQ = ROOT / "deploy" / "rabbitmq"
# Where the compose file's nodes read the definitions; the test's nodes read a copy.
COMPOSE_DEFINITIONS = "/etc/rabbitmq/definitions.json"
SBIN_VARIABLE = "INBOUND_TEST_RABBITMQ_SBIN"
# The Debian package's scripts; the generic tarball's sbin/ has the same ones.
SBIN_CANDIDATES = ("/usr/lib/rabbitmq/bin", "/usr/lib/rabbitmq/sbin")
# The user and password deploy/rabbitmq/definitions.json creates (its hash is of this).
USER, PASSWORD, VHOST = "inbound", "change-me", "inbound"
# The compose file's `rabbitmq-cluster` command: inbound starts once this succeeds.
AWAIT_CLUSTER = ("rabbitmqctl", "--node", "rabbit@rabbitmq-1", "await_online_nodes", "3")
_PR_SET_PDEATHSIG = 1


class ClusterFailed(Exception):
    """The cluster could not be started or driven; the message says which step and why."""


def _die_with_parent() -> None:
    # Runs in the child after the user switch (a credential change clears the setting). Only
    # for a process that execs directly (epmd), started from the main thread: the signal comes
    # when the *thread* that started it ends.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def server_scripts() -> Path:
    """The folder with the package's own rabbitmq-server and rabbitmqctl, or a failure that
    says what to install or set."""
    given = os.environ.get(SBIN_VARIABLE)
    for candidate in (given,) if given else SBIN_CANDIDATES:
        folder = Path(candidate)
        if (folder / "rabbitmq-server").exists() and (folder / "rabbitmqctl").exists():
            return folder
    raise ClusterFailed(
        "no RabbitMQ server scripts in "
        + (given or " or ".join(SBIN_CANDIDATES))
        + ": install rabbitmq-server (Debian: apt-get install rabbitmq-server), or set "
        f"{SBIN_VARIABLE} to the folder holding rabbitmq-server and rabbitmqctl (not the "
        "wrapper on PATH, which drops the environment)"
    )


def node_config(amqp_port: int, definitions: Path) -> str:
    """deploy/rabbitmq/rabbitmq.conf for one test node: the compose file's settings, its own
    listener, the definitions' copy, and no peer discovery (the test joins nodes itself)."""
    kept = [
        line
        for line in (DEPLOY_RABBITMQ / "rabbitmq.conf").read_text().splitlines()
        if not line.startswith("cluster_formation.")
    ]
    text = "\n".join(kept).replace(COMPOSE_DEFINITIONS, str(definitions))
    return f"listeners.tcp.default = 127.0.0.1:{amqp_port}\n{text}\n"


@dataclass
class Node:
    """One node: its name, ports and folder, and its server process while it runs."""

    name: str
    amqp_port: int
    dist_port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.folder / "log" / f"{self.name}.log"

    def tail(self, lines: int = 20) -> str:
        """The end of the node's console output and log, for a failure message."""
        parts = []
        for path in (self.folder / "console.out", self.log):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


class Cluster:
    """Three (or `size`) clustered nodes; see the module's docstring."""

    def __init__(self, size: int = 3) -> None:
        self.sbin = server_scripts()
        self.run_as = _rabbitmq_user()
        token = secrets.token_hex(3)
        self.base = Path(tempfile.mkdtemp(prefix=f"inbound-cluster-{token}-"))
        self.base.chmod(0o755)  # the node user must reach its folders
        self.epmd_port = free_port()
        self.nodes = [
            Node(f"inbound_{token}_{n}@localhost", free_port(), free_port(), self.base / f"n{n}")
            for n in range(1, size + 1)
        ]
        self._epmd: subprocess.Popen[bytes] | None = None

    # ---- lifecycle

    def start(self) -> None:
        """Write the folders, start epmd and every node, and join them into one cluster."""
        self._prepare()
        self._epmd = self._spawn(
            ["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            self.base / "epmd.out",
        )
        _wait_listening(self.epmd_port, 15, "epmd")
        for node in self.nodes:
            self.start_node(node, wait=False)
        for node in self.nodes:
            self.await_startup(node)
        first, *others = self.nodes
        for node in others:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        # What the compose file's `rabbitmq-cluster` service waits for before inbound starts.
        self.ctl(first, AWAIT_CLUSTER[3], str(len(self.nodes)), "--timeout", "120")
        running = self.running_nodes(first)
        if sorted(running) != sorted(node.name for node in self.nodes):
            raise ClusterFailed(f"after joining, {first.name} sees {running} running")

    def close(self, keep_logs: Path | None = None) -> None:
        """Kill every node and epmd, and remove the folder (its logs copied to `keep_logs`)."""
        for node in self.nodes:
            self.kill(node)
        if self._epmd is not None:
            _end(self._epmd, signal.SIGKILL)
        if keep_logs is not None:
            for node in self.nodes:
                with contextlib.suppress(OSError):
                    shutil.copytree(node.folder / "log", keep_logs / node.folder.name)
                    shutil.copy(node.folder / "console.out", keep_logs / node.folder.name)
        shutil.rmtree(self.base, ignore_errors=True)

    def start_node(self, node: Node, wait: bool = True) -> None:
        """Start (or restart, on its own data) one node's server."""
        node.process = self._spawn(
            [str(self.sbin / "rabbitmq-server")],
            node.folder / "console.out",
            self._node_env(node),
            stdin=subprocess.PIPE,  # the dead man's switch: see the module's docstring
        )
        if wait:
            self.await_startup(node)

    def await_startup(self, node: Node, within: float = 120) -> None:
        """Wait until the node runs RabbitMQ; fail with its log if it exits or never does."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if node.process is None or node.process.poll() is not None:
                code = None if node.process is None else node.process.returncode
                raise ClusterFailed(f"node {node.name} exited ({code}):\n{node.tail()}")
            with contextlib.suppress(ClusterFailed):
                self.ctl(node, "await_startup", "--timeout", "10", timeout=30)
                return
        raise ClusterFailed(f"node {node.name} did not start within {within:g} s:\n{node.tail()}")

    def kill(self, node: Node, graceful: bool = False) -> None:
        """Stop a node: SIGKILL (a crash), or `rabbitmqctl stop` (killed if that hangs)."""
        process = node.process
        if process is None:
            return
        if graceful and process.poll() is None:
            with contextlib.suppress(ClusterFailed, subprocess.TimeoutExpired):
                self.ctl(node, "stop", timeout=60)
                process.wait(timeout=30)
        _end(process, signal.SIGKILL)  # its whole group, whatever is left of it
        if process.stdin is not None:
            process.stdin.close()
        node.process = None

    # ---- commands

    def ctl(self, node: Node, *args: str, timeout: float = 60, tool: str = "rabbitmqctl") -> str:
        """Run `rabbitmqctl -n NODE ARGS` (or another CLI tool) with the cluster's cookie."""
        try:
            done = subprocess.run(
                [str(self.sbin / tool), "-n", node.name, *args],
                env=self._env(),
                cwd=self.base,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **self._as_user(),
            )
        except subprocess.TimeoutExpired as error:
            raise ClusterFailed(f"{tool} {' '.join(args)} on {node.name}: no answer") from error
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise ClusterFailed(f"{tool} {' '.join(args)} on {node.name}: {' / '.join(said)}")
        return str(done.stdout)

    def running_nodes(self, asked: Node) -> list[str]:
        """The nodes `asked` sees running."""
        status = json.loads(self.ctl(asked, "-q", "cluster_status", "--formatter", "json"))
        return list(status["running_nodes"])

    def queues(self, asked: Node, vhost: str = VHOST) -> list[dict[str, Any]]:
        """Every queue of `vhost` with its type, members, online members and leader."""
        listed = self.ctl(
            asked,
            "-q",
            "list_queues",
            "-p",
            vhost,
            "name",
            "type",
            "members",
            "online",
            "leader",
            "--formatter",
            "json",
        )
        return list(json.loads(listed))

    def urls(self) -> list[str]:
        """Every node's AMQP URL with the definitions' user and vhost, in node order."""
        return [
            f"amqp://{USER}:{PASSWORD}@127.0.0.1:{node.amqp_port}/{VHOST}" for node in self.nodes
        ]

    def node_on_port(self, port: int) -> Node:
        return next(node for node in self.nodes if node.amqp_port == port)

    # ---- internals

    def _prepare(self) -> None:
        cookie = self.base / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        (self.base / "enabled_plugins").write_text("")  # no plugins: no management port
        (self.base / "rabbitmq-env.conf").write_text("")  # not the system's env file
        definitions = self.base / "definitions.json"
        shutil.copy(DEPLOY_RABBITMQ / "definitions.json", definitions)
        for node in self.nodes:
            (node.folder / "mnesia").mkdir(parents=True)
            (node.folder / "log").mkdir()
            (node.folder / "rabbitmq.conf").write_text(node_config(node.amqp_port, definitions))
        if self.run_as is not None:
            for path in (self.base, *self.base.rglob("*")):
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)

    def _env(self) -> dict[str, str]:
        # Only what the scripts need: HOME holds the cluster's own cookie, epmd is our own.
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.base),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
        }

    def _node_env(self, node: Node) -> dict[str, str]:
        return {
            **self._env(),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_CONFIG_FILE": str(node.folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(node.folder / "advanced.config"),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_MNESIA_BASE": str(node.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            # The script then execs the VM (no shell left as its parent), which reads standard
            # input and halts at its end.
            "RABBITMQ_ALLOW_INPUT": "1",
        }

    def _as_user(self) -> dict[str, Any]:
        if self.run_as is None:
            return {}
        return {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}

    def _spawn(
        self,
        command: list[str],
        output: Path,
        env: dict[str, str] | None = None,
        stdin: int = subprocess.DEVNULL,
    ) -> subprocess.Popen[bytes]:
        with output.open("ab") as out:
            return subprocess.Popen(
                command,
                env=env or self._env(),
                cwd=self.base,
                stdin=stdin,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, ended as one
                preexec_fn=None if stdin == subprocess.PIPE else _die_with_parent,
                **self._as_user(),
            )


def _rabbitmq_user() -> pwd.struct_passwd | None:
    """Nodes run as `rabbitmq` when the tests run as root; otherwise as the tests' user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("rabbitmq")
    except KeyError as error:
        raise ClusterFailed(
            "running as root but there is no `rabbitmq` user to run the nodes as"
        ) from error


def _end(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to the process's group (it leads its own), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)


def _wait_listening(port: int, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise ClusterFailed(f"{what} never listened on 127.0.0.1:{port}")


@contextlib.contextmanager
def rabbitmq_cluster(size: int = 3, keep_logs: Path | None = None) -> Iterator[Cluster]:
    """A started cluster, stopped and removed afterwards (also when starting it fails), its
    nodes' logs kept in `keep_logs`."""
    try:
        cluster = Cluster(size)
    except ClusterFailed as error:
        pytest.fail(f"cannot start a RabbitMQ cluster: {error}", pytrace=False)
    try:
        try:
            cluster.start()
        except ClusterFailed as error:
            pytest.fail(f"cannot start a RabbitMQ cluster: {error}", pytrace=False)
        yield cluster
    finally:
        cluster.close(keep_logs)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three clustered RabbitMQ nodes for the session (started only by tests that ask); their
    logs end up in pytest's temporary folder, `rabbitmq-logs*`."""
    with rabbitmq_cluster(keep_logs=tmp_path_factory.mktemp("rabbitmq-logs")) as started:
        yield started
