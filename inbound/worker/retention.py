"""The worker's periodic purge of message content (text, captures, finished actions' payloads)
past each service's retention, and of webhook nonces kept long enough.

A purge runs in batches (`BATCH_SIZE` rows a transaction) until nothing is left, and only one
process purges a database at a time: a process that finds another purging skips its round.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inbound.logs import get_logger
from inbound.rules.compiled import CompiledRules
from inbound.store import retention
from inbound.store.nonces import KEEP
from inbound.store.retention import BATCH_SIZE, Cleared, Purged

log = get_logger("retention")

Progress = Callable[[Purged], None]
# One batch on a fresh session: (session, id to continue after, batch size) -> what it cleared.
Step = Callable[[AsyncSession, int, int], Awaitable[Cleared]]


async def purge_once(
    sessions: async_sessionmaker[AsyncSession],
    rules: CompiledRules,
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Purged:
    """One purge, batch by batch: content past retention, and webhook nonces past KEEP.

    `progress` hears the running totals after each batch. Returns the totals, or a `Purged`
    with `skipped` set when another process holds the purge lock.
    """
    when = now or datetime.now(UTC)
    past = retention.expired(rules.retention_days(), when)
    prompts_past = retention.expired_prompts(rules.retention_days(), when)
    parts_before = when - timedelta(days=retention.DEFAULT_RETENTION_DAYS)
    steps: list[tuple[str, Step]] = [
        ("messages", lambda s, after, n: retention.clear_texts(s, past, after, n)),
        ("outcomes", lambda s, after, n: retention.clear_captures(s, past, after, n)),
        ("actions", lambda s, after, n: retention.clear_payloads(s, past, after, n)),
        ("parts", lambda s, after, n: retention.clear_parts(s, parts_before, after, n)),
        ("nonces", lambda s, after, n: retention.forget_nonces(s, when - KEEP, after, n)),
        # The prompts done with first, so only the texts of the ones kept are cleared.
        ("prompts", lambda s, after, n: retention.forget_prompts(s, prompts_past, when, after, n)),
        (
            "prompt_texts",
            lambda s, after, n: retention.clear_prompt_texts(s, prompts_past, after, n),
        ),
    ]
    async with retention.purge_lock(_engine(sessions)) as held:
        if not held:
            return Purged(skipped=True)
        totals = Purged()
        for field, step in steps:
            after: int | None = 0
            while after is not None:
                async with sessions.begin() as session:
                    cleared = await step(session, after, batch_size)
                after = cleared.last
                if cleared.count:
                    done = getattr(totals, field) + cleared.count
                    totals = replace(totals, batches=totals.batches + 1, **{field: done})
                    if progress is not None:
                        progress(totals)
        return totals


async def purge_expired(sessions: async_sessionmaker[AsyncSession], rules: CompiledRules) -> None:
    """One purge, logged when it removed anything, with progress while a long one runs (the
    worker runs this periodically)."""
    purged = await purge_once(sessions, rules, progress=every(10.0, _log_progress))
    if purged.skipped:
        log.info("purge_skipped", reason="another process is purging this database")
    elif purged.batches:
        log.info("content_purged", **_counts(purged))


def every(seconds: float, tell: Progress) -> Progress:
    """A progress callback that passes on at most one report every `seconds`."""
    last = time.monotonic()

    def report(totals: Purged) -> None:
        nonlocal last
        if time.monotonic() - last >= seconds:
            last = time.monotonic()
            tell(totals)

    return report


def _log_progress(totals: Purged) -> None:
    log.info("purge_progress", **_counts(totals))


def _counts(purged: Purged) -> dict[str, int]:
    return {
        "messages": purged.messages,
        "parts": purged.parts,
        "outcomes": purged.outcomes,
        "actions": purged.actions,
        "nonces": purged.nonces,
        "prompt_texts": purged.prompt_texts,
        "prompts": purged.prompts,
        "batches": purged.batches,
    }


def _engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bound = sessions.kw.get("bind")
    if not isinstance(bound, AsyncEngine):
        raise TypeError("purge needs sessions bound to an engine")
    return bound
