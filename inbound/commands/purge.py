"""`inbound purge`: clear message content past each service's retention (the worker does it
too): texts, outcomes' captures, finished actions' payloads."""

from __future__ import annotations

import argparse
import asyncio

from inbound.commands.context import load_settings
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.store.database import create_engine, session_factory
from inbound.store.retention import Purged
from inbound.worker.retention import purge_once


def _purge(_: argparse.Namespace) -> int:
    settings = load_settings()
    rules = CompiledRules(load_directory(settings.rules_dir))

    async def go() -> Purged:
        engine = create_engine(settings.database_url)
        try:
            return await purge_once(session_factory(engine), rules)
        finally:
            await engine.dispose()

    purged = asyncio.run(go())
    print(
        f"purged the text of {purged.messages} messages and {purged.parts} message parts, "
        f"the captures of {purged.outcomes} outcomes and the payloads of {purged.actions} "
        "finished actions; ids, outcomes' actions and rules, review items and opt-outs are kept"
    )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `purge` to the top-level parser."""
    text = (
        "Clear message content older than each service's retention_days (default 7): the text, "
        "the outcome's captures and finished actions' payloads (callback events, reply texts). "
        "Ids, outcomes' actions and rules, review items and opt-outs are kept."
    )
    purge = commands.add_parser("purge", help=text, description=text)
    purge.set_defaults(handler=_purge)
