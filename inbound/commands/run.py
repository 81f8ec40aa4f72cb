"""`inbound run|serve|worker|review`: the long-running processes (see the Procfile)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from inbound.commands.context import Subcommands, add_command, load_settings

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
        # Start-up failures (database, RabbitMQ, settings) reach inbound.cli as one line.
        runtime.run(bootstrap.run(settings, parts))
        return 0

    return command


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
