"""`inbound callbacks …`: checking a service's callback endpoint before real outcomes flow."""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime

from inbound.commands.context import CommandError, Subcommands, add_command, complete, load_settings


def _test(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every command module is loaded to build the parser.
    import aiohttp

    from inbound.actions import callback
    from inbound.actions.event import headers, outcome_event
    from inbound.rules.load import load_directory

    settings = load_settings()
    book = load_directory(settings.rules_dir)
    found = book.services.get(args.service)
    if found is None:
        known = ", ".join(sorted(book.services)) or "none"
        raise CommandError(f"no service {args.service!r} in {settings.rules_dir} (known: {known})")
    target = found.service.callback
    if target is None:
        raise CommandError(f"service {args.service!r} has no callback in its rule file")
    secret = os.environ.get(target.secret_env) if target.secret_env else None
    if target.secret_env and not secret:
        raise CommandError(f"{target.secret_env} is not set: the callback would go unsigned")
    now = datetime.now(UTC)
    key = f"{args.service}:test:{int(time.time())}"
    event = outcome_event(
        event_id=key,
        service_id=args.service,
        action="confirm",
        captures={},
        sender="+447700900123",
        provider="test",
        provider_message_id=key,
        received_at=now,
        decided_at=now,
        rule="callbacks-test",
    )
    event["type"] = "test"
    body = json.dumps(event, separators=(",", ":")).encode()

    async def go() -> int:
        async with aiohttp.ClientSession() as http:
            return await callback.post(
                http,
                target.url,
                body,
                headers(secret, int(time.time()), body, key),
                settings.callback_timeout,
            )

    started = time.monotonic()
    try:
        status = complete(go())
    except callback.CallbackFailed as error:
        print(f"{target.url}: failed ({error}) after {time.monotonic() - started:.2f} s")
        return 1
    signed = "signed" if secret else "unsigned"
    print(f"{target.url}: {status} in {time.monotonic() - started:.2f} s ({signed} test event)")
    return 0


def register(commands: Subcommands) -> None:
    """Add `callbacks` and its subcommands to the top-level parser."""
    text = "Work with services' callback endpoints."
    callbacks = add_command(commands, "callbacks", text)
    subcommands = callbacks.add_subparsers(
        dest="callbacks_command", required=True, metavar="COMMAND"
    )
    text = "Send a signed test event to a service's callback and report the answer."
    reads = (
        "Reads INBOUND_RULES_DIR, INBOUND_CALLBACK_TIMEOUT and the environment variable the "
        "callback's secret_env names."
    )
    test = add_command(subcommands, "test", text, reads=reads)
    test.add_argument("service", help="the service id from its rule file")
    test.set_defaults(handler=_test)
