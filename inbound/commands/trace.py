"""`inbound trace ID`: where one message went."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from inbound.commands.context import (
    CommandError,
    Subcommands,
    add_command,
    complete,
    database,
    load_settings,
)

if TYPE_CHECKING:
    from inbound.store.messages import MessageTrace


async def _find(url: str, message_id: str, provider: str | None) -> list[MessageTrace]:
    from inbound.store.database import session_factory
    from inbound.store.messages import Messages

    async with database(url) as engine, session_factory(engine)() as session:
        return await Messages(session).trace(message_id, provider)


def _command(args: argparse.Namespace) -> int:
    settings = load_settings()
    found = complete(_find(settings.database_url, args.id, args.provider))
    if not found:
        where = f" from {args.provider}" if args.provider else ""
        print(f"no message {args.id!r}{where} is stored (it may still be queued)", file=sys.stderr)
        return 1
    if len(found) > 1:
        providers = ", ".join(item.message.provider for item in found)
        raise CommandError(
            f"{len(found)} messages have id {args.id!r} ({providers}): add --provider"
        )
    from inbound import trace

    traced = trace.record(found[0], args.show_numbers)
    if args.json:
        print(json.dumps(traced, ensure_ascii=False))
        return 0
    for label, value in trace.rows(traced):
        print(f"{label:<9} {value}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `trace` to the top-level parser."""
    text = "Show where a message went: stored fields, outcome or review item."
    details = "Exit status 1 when no such message is stored (yet)."
    trace = add_command(
        commands, "trace", text, details=details, reads="Reads INBOUND_DATABASE_URL."
    )
    trace.add_argument("id", help="the provider's message id (e.g. Twilio's MessageSid)")
    trace.add_argument("--provider", help="which provider, when two share an id")
    trace.add_argument("--json", action="store_true", help="print one JSON object")
    trace.add_argument("--show-numbers", action="store_true", help="print phone numbers unmasked")
    trace.set_defaults(handler=_command)
