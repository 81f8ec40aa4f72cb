"""The worker's periodic purge of message content (text, captures, finished actions' payloads)
past each service's retention."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.logs import get_logger
from inbound.rules.compiled import CompiledRules
from inbound.store.retention import Purged, purge_content

log = get_logger("retention")


async def purge_once(
    sessions: async_sessionmaker[AsyncSession], rules: CompiledRules, now: datetime | None = None
) -> Purged:
    """One purge, in one transaction."""
    async with sessions.begin() as session:
        return await purge_content(session, rules.retention_days(), now or datetime.now(UTC))


async def purge_expired(sessions: async_sessionmaker[AsyncSession], rules: CompiledRules) -> None:
    """One purge, logged when it removed anything (the worker runs this periodically)."""
    purged = await purge_once(sessions, rules)
    if purged.messages or purged.parts or purged.outcomes or purged.actions:
        log.info(
            "content_purged",
            messages=purged.messages,
            parts=purged.parts,
            outcomes=purged.outcomes,
            actions=purged.actions,
        )
