"""The worker's periodic purge of message content (text, captures, finished actions' payloads)
past each service's retention."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.logs import get_logger
from inbound.rules.compiled import CompiledRules, RulesInForce
from inbound.store.retention import Purged, purge_content

log = get_logger("retention")


async def purge_once(
    sessions: async_sessionmaker[AsyncSession], rules: CompiledRules, now: datetime | None = None
) -> Purged:
    """One purge, in one transaction."""
    async with sessions.begin() as session:
        return await purge_content(session, rules.retention_days(), now or datetime.now(UTC))


class Purger:
    """Runs `purge_once` every `interval` seconds until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rules: RulesInForce,
        interval: float,
    ) -> None:
        self._sessions = sessions
        self._rules = rules
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                purged = await purge_once(self._sessions, self._rules())
                if purged.messages or purged.parts or purged.outcomes or purged.actions:
                    log.info(
                        "content_purged",
                        messages=purged.messages,
                        parts=purged.parts,
                        outcomes=purged.outcomes,
                        actions=purged.actions,
                    )
            except (SQLAlchemyError, OSError) as error:
                log.warning("purge_failed", error=type(error).__name__)
            await asyncio.sleep(self._interval)
