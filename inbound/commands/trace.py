"""`inbound trace ID`: where one message went, and what became of its callbacks and replies."""

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
    from inbound.trace import ActionFacts, Wanted

ID_HELP = (
    "the message to trace: the provider's message id (e.g. Twilio's MessageSid, the id "
    "`inbound send` printed, or message.id in a callback's event); a review item's number as "
    "item:12 (the review page's 'Item #12'); an action id from the logs as action:42; a "
    "callback's Idempotency-Key; or the provider:id the logs name a message by"
)


async def _find(
    url: str, wanted: Wanted, provider: str | None
) -> list[tuple[MessageTrace, list[ActionFacts]]]:
    from inbound.store import traces
    from inbound.store.database import session_factory

    async with database(url) as engine, session_factory(engine)() as session:
        found = await traces.find(session, wanted, provider)
        return [(item, await traces.actions_of(session, item.message.id)) for item in found]


def _not_found(typed: str, wanted: Wanted, provider: str | None) -> str:
    where = f" from {provider}" if provider else ""
    if wanted.kind == "item":
        return f"no review item #{wanted.value}{where} is stored"
    if wanted.kind == "action":
        return f"no action #{wanted.value}{where} is stored"
    return (
        f"no message {typed!r}{where} is stored: no provider message id, Idempotency-Key or "
        "provider:id matches (it may still be queued; a review item is item:N, an action "
        "from the logs action:N)"
    )


def _command(args: argparse.Namespace) -> int:
    from inbound import trace

    settings = load_settings()
    wanted = trace.wanted(args.id)
    found = complete(_find(settings.database_url, wanted, args.provider))
    if not found:
        print(_not_found(args.id, wanted, args.provider), file=sys.stderr)
        return 1
    if len(found) > 1:
        providers = ", ".join(item.message.provider for item, _ in found)
        raise CommandError(
            f"{len(found)} messages have id {args.id!r} ({providers}): add --provider"
        )
    message, actions = found[0]
    traced = trace.record(message, args.show_numbers, actions, settings.retry_delays)
    if args.json:
        print(json.dumps(traced, ensure_ascii=False))
        return 0
    for label, value in trace.rows(traced):
        print(f"{label:<9} {value}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `trace` to the top-level parser."""
    text = (
        "Show where a message went: stored fields, outcome or review item, and each callback "
        "and reply with its state, attempts, next attempt and last error."
    )
    details = (
        "Exit status 1 when nothing stored matches (yet). A pending action's next attempt is "
        "estimated from INBOUND_RETRY_DELAYS."
    )
    trace = add_command(
        commands,
        "trace",
        text,
        details=details,
        reads="Reads INBOUND_DATABASE_URL and INBOUND_RETRY_DELAYS.",
    )
    trace.add_argument("id", metavar="ID", help=ID_HELP)
    trace.add_argument("--provider", help="which provider, when two share an id")
    trace.add_argument("--json", action="store_true", help="print one JSON object")
    trace.add_argument("--show-numbers", action="store_true", help="print phone numbers unmasked")
    trace.set_defaults(handler=_command)
