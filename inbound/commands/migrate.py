"""`inbound migrate`: create the database, or bring its schema to this version's."""

from __future__ import annotations

import argparse

from inbound.commands.context import Subcommands, add_command, complete, database, load_settings


async def _migrate(url: str) -> tuple[str | None, str | None]:
    """(the revision before, the revision after)."""
    from inbound.store.migrate import revisions, upgrade

    async with database(url, migrating=True) as engine:
        before, _head = await revisions(engine)
        await upgrade(engine)
        return before, (await revisions(engine))[0]


def _command(_: argparse.Namespace) -> int:
    settings = load_settings()
    before, after = complete(_migrate(settings.database_url))
    if before == after:
        print(f"database is up to date (revision {after})")
    else:
        print(f"database migrated from {before or 'empty'} to revision {after}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `migrate` to the top-level parser."""
    reads = (
        "Reads INBOUND_DATABASE_URL; a SQLite file is created if missing (a relative "
        "sqlite+aiosqlite:///inbound.db is relative to the current folder)."
    )
    text = "Create the database or upgrade its schema; harmless to run again."
    migrate = add_command(commands, "migrate", text, reads=reads)
    migrate.set_defaults(handler=_command)
