"""Running the `inbound` console script as a separate process, as an operator would."""

from __future__ import annotations

import asyncio
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INBOUND = str(Path(sys.executable).parent / "inbound")


# Below Linux's ephemeral range (32768-60999 by default), which outgoing connections draw
# from: a port chosen there can be taken by some client's connection before the server that
# was given it binds, as a cluster node's AMQP listener once was (eaddrinuse).
_CHOSEN_PORTS = range(20000, 32768)


def free_port() -> int:
    """A TCP port nobody listens on right now, outside the range outgoing connections use."""
    for _ in range(200):
        port = random.choice(_CHOSEN_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port in {_CHOSEN_PORTS.start}-{_CHOSEN_PORTS.stop - 1}")


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never says a word, like a hung broker; yields it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return  # the listener was closed

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()


def inbound(
    env: dict[str, str], *args: str, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one `inbound` command to completion (in `cwd`, or the current folder)."""
    return subprocess.run(
        [INBOUND, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


async def inbound_beside(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run one `inbound` command without blocking the event loop, so that servers the test runs
    in it (a fake service the command calls) keep answering; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        INBOUND, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


@contextmanager
def serving(env: dict[str, str], logs: Path, command: str = "run") -> Iterator[str]:
    """`inbound migrate` then `inbound <command>` until it listens; yields what it printed.

    Output goes to files, not pipes, so a chatty server can never block on a full pipe.
    """
    migrated = inbound(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    stdout, stderr = logs.with_suffix(".out"), logs.with_suffix(".err")
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen([INBOUND, command], env=env, stdout=out, stderr=err, text=True)
    try:
        deadline = time.monotonic() + 30
        while "listening on" not in stdout.read_text():
            assert process.poll() is None, f"exited {process.returncode}: {stderr.read_text()}"
            assert time.monotonic() < deadline, f"never listened: {stderr.read_text()}"
            time.sleep(0.1)
        yield stdout.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 0, stderr.read_text()
