"""`inbound purge`: clear message content past each service's retention (the worker does it
too): texts, outcomes' captures, finished actions' payloads; in batches, one process at a time."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from inbound.commands.context import Subcommands, add_command, complete, database, load_settings

if TYPE_CHECKING:
    from inbound.rules.compiled import CompiledRules
    from inbound.store.retention import Purged

BATCH_SIZE = 1000  # inbound.store.retention.BATCH_SIZE, kept here so --help loads no database code
PROGRESS_EVERY = 2.0  # seconds between progress lines on a long purge


async def _purge_stored(url: str, rules: CompiledRules, batch_size: int) -> Purged:
    from inbound.store.database import session_factory
    from inbound.worker.retention import every, purge_once

    async with database(url) as engine:
        return await purge_once(
            session_factory(engine),
            rules,
            batch_size=batch_size,
            progress=every(PROGRESS_EVERY, _print_progress),
        )


def _print_progress(totals: Purged) -> None:
    print(
        f"purging: {totals.messages} texts, {totals.parts} parts, {totals.outcomes} captures, "
        f"{totals.actions} payloads, {totals.nonces} nonces, "
        f"{totals.prompt_texts + totals.prompts} prompts so far ({totals.batches} batches)",
        file=sys.stderr,
        flush=True,
    )


def _purge(args: argparse.Namespace) -> int:
    from inbound.commands.rules_managed import rule_book
    from inbound.rules.compiled import CompiledRules

    settings = load_settings()
    # Each service's retention, from its file or its version managed in inbound.
    rules = CompiledRules(rule_book(settings))
    purged = complete(_purge_stored(settings.database_url, rules, args.batch_size))
    if purged.skipped:
        print("another process is purging this database now; nothing done (try again later)")
        return 0
    print(
        f"purged the text of {purged.messages} messages and {purged.parts} message parts, "
        f"the captures of {purged.outcomes} outcomes and the payloads of {purged.actions} "
        f"finished actions, the text of {purged.prompt_texts} prompts and {purged.prompts} "
        f"finished prompts, in {purged.batches} batches of at most {args.batch_size}; ids, "
        "outcomes' actions and rules, review items and opt-outs are kept"
    )
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def register(commands: Subcommands) -> None:
    """Add `purge` to the top-level parser."""
    text = "Clear message content past each service's retention now (the worker does it too)."
    details = (
        "Content older than a service's retention_days (default 7): the text, the outcome's "
        "captures and finished actions' payloads (callback events, reply texts). Ids, outcomes' "
        "actions and rules, review items and opt-outs are kept. Runs in batches, each its own "
        "short transaction, printing progress on a long purge; on PostgreSQL only one process "
        "purges at a time, and this one does nothing if another is purging."
    )
    reads = "Reads INBOUND_DATABASE_URL and INBOUND_RULES_DIR."
    purge = add_command(commands, "purge", text, details=details, reads=reads)
    purge.add_argument(
        "--batch-size",
        type=_positive,
        default=BATCH_SIZE,
        metavar="N",
        help=f"rows cleared per transaction (default {BATCH_SIZE})",
    )
    purge.set_defaults(handler=_purge)
