"""`inbound purge`: clear message content past each service's retention (the worker does it
too): texts, outcomes' captures, finished actions' payloads."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from inbound.commands.context import Subcommands, add_command, complete, database, load_settings

if TYPE_CHECKING:
    from inbound.rules.compiled import CompiledRules
    from inbound.store.retention import Purged


async def _purge_stored(url: str, rules: CompiledRules) -> Purged:
    from inbound.store.database import session_factory
    from inbound.worker.retention import purge_once

    async with database(url) as engine:
        return await purge_once(session_factory(engine), rules)


def _purge(_: argparse.Namespace) -> int:
    from inbound.rules.compiled import CompiledRules
    from inbound.rules.load import load_directory

    settings = load_settings()
    rules = CompiledRules(load_directory(settings.rules_dir))
    purged = complete(_purge_stored(settings.database_url, rules))
    print(
        f"purged the text of {purged.messages} messages and {purged.parts} message parts, "
        f"the captures of {purged.outcomes} outcomes and the payloads of {purged.actions} "
        "finished actions; ids, outcomes' actions and rules, review items and opt-outs are kept"
    )
    return 0


def register(commands: Subcommands) -> None:
    """Add `purge` to the top-level parser."""
    text = "Clear message content past each service's retention now (the worker does it too)."
    details = (
        "Content older than a service's retention_days (default 7): the text, the outcome's "
        "captures and finished actions' payloads (callback events, reply texts). Ids, outcomes' "
        "actions and rules, review items and opt-outs are kept."
    )
    reads = "Reads INBOUND_DATABASE_URL and INBOUND_RULES_DIR."
    purge = add_command(commands, "purge", text, details=details, reads=reads)
    purge.set_defaults(handler=_purge)
