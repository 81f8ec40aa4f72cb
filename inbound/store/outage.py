"""Telling a database outage from a bad message, and waiting one out without losing work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.logs import get_logger

log = get_logger("database")

T = TypeVar("T")

# The first pause while the database is unreachable, doubling up to MAX_PAUSE.
FIRST_PAUSE = 1.0
MAX_PAUSE = 30.0
PROBE_TIMEOUT = 2.0


class Stopping(Exception):
    """The process is stopping while the database is away: the work is left undone."""


async def database_answers(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """True when the database runs a trivial query: tells an outage from a bad message."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT), sessions() as session:
            await session.execute(text("SELECT 1"))
    except (TimeoutError, SQLAlchemyError, OSError):
        return False
    return True


async def through_outage(
    attempt: Callable[[], Awaitable[T]],
    sessions: async_sessionmaker[AsyncSession],
    stopping: asyncio.Event,
    **context: object,
) -> T:
    """Run `attempt` until it succeeds, waiting (with back-off) while the database is away.

    A database error while the database answers is the attempt's own: it is raised. `Stopping`
    when `stopping` is set during a wait. `context` goes into the waiting log line.
    """
    pause = FIRST_PAUSE
    while True:
        try:
            return await attempt()
        except (SQLAlchemyError, OSError) as error:
            if await database_answers(sessions):
                raise
            log.warning(
                "database_unavailable_waiting",
                error=type(error).__name__,
                retry_in=pause,
                **context,
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(pause):
                await stopping.wait()
        if stopping.is_set():
            raise Stopping
        pause = min(pause * 2, MAX_PAUSE)
