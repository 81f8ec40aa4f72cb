"""`inbound spool …`: what is waiting in the database spool for RabbitMQ."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

from inbound.commands.context import load_settings
from inbound.store.database import create_engine, session_factory
from inbound.store.spool import Spool, SpoolStatus


async def _status(url: str) -> SpoolStatus:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await Spool(session).status()
    finally:
        await engine.dispose()


def _show(args: argparse.Namespace) -> int:
    settings = load_settings()
    status = asyncio.run(_status(settings.database_url))
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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `spool` and its subcommands to the top-level parser."""
    text = "Look at the database spool (messages accepted while RabbitMQ was unavailable)."
    spool = commands.add_parser("spool", help=text, description=text)
    subcommands = spool.add_subparsers(dest="spool_command", required=True, metavar="COMMAND")
    text = "Show how many accepted messages wait in the spool for RabbitMQ, and since when."
    status = subcommands.add_parser("status", help=text, description=text)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_show)
