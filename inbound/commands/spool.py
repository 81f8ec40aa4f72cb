"""`inbound spool …`: what is waiting in the database spool for RabbitMQ."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inbound.commands.context import Subcommands, add_command, complete, database, load_settings

if TYPE_CHECKING:
    from inbound.store.spool import SpoolStatus


async def _status(url: str) -> SpoolStatus:
    from inbound.store.database import session_factory
    from inbound.store.spool import Spool

    async with database(url) as engine, session_factory(engine)() as session:
        return await Spool(session).status()


def _show(args: argparse.Namespace) -> int:
    settings = load_settings()
    status = complete(_status(settings.database_url))
    age = (datetime.now(UTC) - status.oldest).total_seconds() if status.oldest else None
    if args.json:
        record = {
            "waiting": status.waiting,
            "oldest": status.oldest.isoformat() if status.oldest else None,
            "oldest_seconds": round(age, 1) if age is not None else None,
            "most_attempts": status.most_attempts,
            "last_error": status.last_error,
        }
        print(json.dumps(record))
        return 0
    if not status.waiting:
        print("spool is empty: every accepted message has reached RabbitMQ")
        return 0
    print(f"waiting   {status.waiting} messages for RabbitMQ")
    print(f"oldest    {status.oldest.isoformat() if status.oldest else '?'} ({age:.0f} s ago)")
    print(f"attempts  up to {status.most_attempts} relay attempts")
    if status.last_error:
        print(f"last      {status.last_error}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `spool` and its subcommands to the top-level parser."""
    text = "Look at the database spool (messages accepted while RabbitMQ was unavailable)."
    spool = add_command(commands, "spool", text)
    subcommands = spool.add_subparsers(dest="spool_command", required=True, metavar="COMMAND")
    text = "Show how many accepted messages wait in the spool for RabbitMQ, and since when."
    status = add_command(subcommands, "status", text, reads="Reads INBOUND_DATABASE_URL.")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_show)
