"""`inbound callbacks …`: checking a service's callback endpoint before real outcomes flow."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from inbound.commands.context import CommandError, Subcommands, add_command, complete, load_settings


def _test(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every command module is loaded to build the parser.
    import aiohttp

    from inbound.actions import callback
    from inbound.actions.event import headers, outcome_event
    from inbound.actions.notify_callback import Handled, received_text_body
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
    token = os.environ.get(target.token_env) if target.token_env else None
    if target.token_env and not token:
        raise CommandError(f"{target.token_env} is not set: the receiver would refuse the callback")
    now = datetime.now(UTC)
    key = f"{args.service}:test:{int(time.time())}"
    if target.format == "notify":
        text = _TestText(
            sender="+447700900123", recipient=found.service.numbers[0], received_at=now
        )
        event = received_text_body(args.service, text, Handled("test"))
    else:
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
    sent = headers(secret, int(time.time()), body, key)
    if token:
        sent["Authorization"] = f"Bearer {token}"

    async def go() -> int:
        async with aiohttp.ClientSession() as http:
            return await callback.post(
                http,
                target.url,
                body,
                sent,
                settings.callback_timeout,
            )

    started = time.monotonic()
    try:
        status = complete(go())
    except callback.CallbackFailed as error:
        print(f"{target.url}: failed ({error}) after {time.monotonic() - started:.2f} s")
        return 1
    signed = "signed" if secret else "unsigned"
    shape = "test text in Notify's shape, with the bearer token" if token else "test event"
    print(f"{target.url}: {status} in {time.monotonic() - started:.2f} s ({signed} {shape})")
    return 0


@dataclass(frozen=True)
class _TestText:
    """The made-up text `callbacks test` sends a receiver that takes texts in Notify's shape."""

    sender: str
    recipient: str
    received_at: datetime
    id: int = 1
    text: str | None = "This is a test from inbound: callbacks test"
    provider: str = "test"
    provider_message_id: str = "test"


def register(commands: Subcommands) -> None:
    """Add `callbacks` and its subcommands to the top-level parser."""
    text = "Work with services' callback endpoints."
    callbacks = add_command(commands, "callbacks", text)
    subcommands = callbacks.add_subparsers(
        dest="callbacks_command", required=True, metavar="COMMAND"
    )
    text = (
        "Send a test event (a test text in Notify's shape, for format: notify) to a service's "
        "callback and report the answer."
    )
    reads = (
        "Reads INBOUND_RULES_DIR, INBOUND_CALLBACK_TIMEOUT and the environment variable the "
        "callback's secret_env and token_env name."
    )
    test = add_command(subcommands, "test", text, reads=reads)
    test.add_argument("service", help="the service id from its rule file")
    test.set_defaults(handler=_test)
