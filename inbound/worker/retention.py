"""The worker's periodic purge of message content (text, captures, finished actions' payloads)
past each service's retention, and of webhook nonces kept long enough."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.logs import get_logger
from inbound.rules.compiled import CompiledRules
from inbound.store.nonces import KEEP, WebhookNonces
from inbound.store.retention import Purged, purge_content

log = get_logger("retention")


async def purge_once(
    sessions: async_sessionmaker[AsyncSession], rules: CompiledRules, now: datetime | None = None
) -> Purged:
    """One purge, in one transaction: content past retention, and webhook nonces past KEEP."""
    when = now or datetime.now(UTC)
    async with sessions.begin() as session:
        purged = await purge_content(session, rules.retention_days(), when)
        nonces = await WebhookNonces(session).purge(when - KEEP)
        return replace(purged, nonces=nonces)


async def purge_expired(sessions: async_sessionmaker[AsyncSession], rules: CompiledRules) -> None:
    """One purge, logged when it removed anything (the worker runs this periodically)."""
    purged = await purge_once(sessions, rules)
    if purged.messages or purged.parts or purged.outcomes or purged.actions or purged.nonces:
        log.info(
            "content_purged",
            messages=purged.messages,
            parts=purged.parts,
            outcomes=purged.outcomes,
            actions=purged.actions,
            nonces=purged.nonces,
        )
