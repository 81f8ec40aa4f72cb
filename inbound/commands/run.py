"""`inbound run|serve|worker|review`: the long-running processes (see the Procfile)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from inbound.commands.context import Subcommands, add_command, load_settings

if TYPE_CHECKING:
    from inbound.config import Settings

# (command, what it runs, receiver, rules worker, review pages)
PROCESSES = (
    ("run", "Run everything in one process: webhooks and the rules worker.", True, True, False),
    ("serve", "Run the webhook receiver only (Procfile `web`).", True, False, False),
    ("worker", "Run the rules worker only (Procfile `worker`).", False, True, False),
    (
        "review",
        "Run the caseworkers' review pages and /api/ only (Procfile `review`).",
        False,
        False,
        True,
    ),
)

READS = (
    "Reads INBOUND_DATABASE_URL (run `inbound migrate` first), INBOUND_AMQP_URL and "
    "INBOUND_RULES_DIR; the receiver also INBOUND_HOST, INBOUND_PORT and each provider's "
    "secret, which enables its webhook."
)


def _runner(receiver: bool, worker: bool, review: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        settings = load_settings()
        from inbound import bootstrap, logs, runtime

        logs.configure(settings.log_level, settings.log_format)
        webhooks_only = bool(getattr(args, "webhooks_only", False))
        parts = bootstrap.Components(receiver, worker, review=review, webhooks_only=webhooks_only)
        if worker and not settings.callbacks:
            bootstrap.announce(
                "callbacks are off (INBOUND_CALLBACKS=off): outcomes are recorded, not POSTed "
                "to the services' callback URLs"
            )
        say: Callable[[str], None] = bootstrap.announce
        if parts.serves_staff:
            say = _with_first_steps(settings, receiver and settings.admin_port is not None, say)
        # Start-up failures (database, RabbitMQ, settings) reach inbound.cli as one line.
        runtime.run(bootstrap.run(settings, parts, say))
        return 0

    return command


def _with_first_steps(
    settings: Settings, staff_apart: bool, say: Callable[[str], None]
) -> Callable[[str], None]:
    """`say`, adding where the review queue is and how to make its first account to the line
    that says the staff pages listen (on the main port, or INBOUND_ADMIN_PORT's).

    The rules are read for a service id now, before start-up, and the lines go out in the same
    write as that line: nothing is added between "listening" and the stop signals' handlers."""
    staff_line = "staff pages on " if staff_apart else "listening on "
    service = _first_service(settings.rules_dir)

    def said(line: str) -> None:
        if line.startswith(staff_line):
            line = "\n".join([line, *first_steps(line.removeprefix(staff_line), service)])
        say(line)

    return said


def _first_service(rules_dir: Path) -> str | None:
    from inbound.rules.load import RuleFileError, RuleSetError, load_directory

    try:
        return next(iter(load_directory(rules_dir).services), None)
    except (RuleSetError, RuleFileError):
        return None  # start-up reports the problem itself, file and line


def first_steps(address: str, service: str | None) -> list[str]:
    """Where the review queue is, and the exact command for its first account."""
    parts = urlsplit(address)
    host = parts.hostname or "localhost"
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (naming the wildcard, not binding to it)
        host = "localhost"  # listening everywhere: this machine's browser finds it here
    shown_host = f"[{host}]" if ":" in host else host
    review = f"{parts.scheme}://{shown_host}:{parts.port}/review/"
    who = f"--service {service} --role caseworker" if service else "--role platform_admin"
    program = sys.argv[0] if Path(sys.argv[0]).name == "inbound" else "inbound"
    return [
        f"review queue at {review}",
        f"first account: {program} users add you@example.org {who}"
        " (prints a password; signing in then enrols an authenticator app)",
    ]


def register(commands: Subcommands) -> None:
    """Add `run`, `serve`, `worker` and `review` to the top-level parser."""
    for name, text, receiver, worker, review in PROCESSES:
        process = add_command(commands, name, text, reads=READS)
        process.set_defaults(handler=_runner(receiver, worker, review))
        if receiver:
            process.add_argument(
                "--webhooks-only",
                action="store_true",
                help="answer only /webhooks/*, /healthz and /readyz: no staff pages, /api, "
                "/metrics or /openapi.json in this process (run `inbound review` for those), "
                "for the port providers reach; INBOUND_ADMIN_PORT instead puts them on a port "
                "of their own",
            )
