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

# While the database is away it is probed this often, and work resumes on the first answer: a
# back-off that grew with the outage would keep a worker idle long after the database is back.
PROBE_EVERY = 1.0
PROBE_TIMEOUT = 2.0
# How often a long outage is logged again (the first failure is logged at once).
STILL_WAITING_EVERY = 30.0


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
    """Run `attempt` until it succeeds, waiting while the database is away.

    A database error while the database answers is the attempt's own: it is raised. `Stopping`
    when `stopping` is set during a wait. `context` goes into the waiting log lines.
    """
    while True:
        try:
            return await attempt()
        except (SQLAlchemyError, OSError) as error:
            if await database_answers(sessions):
                raise
            log.warning("database_unavailable_waiting", error=type(error).__name__, **context)
        await until_answers(sessions, stopping, **context)


async def until_answers(
    sessions: async_sessionmaker[AsyncSession], stopping: asyncio.Event, **context: object
) -> None:
    """Return as soon as the database answers, probing every PROBE_EVERY seconds; `Stopping`
    when `stopping` is set first."""
    loop = asyncio.get_running_loop()
    started = last_said = loop.time()
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PROBE_EVERY):
                await stopping.wait()
        if stopping.is_set():
            raise Stopping
        if await database_answers(sessions):
            log.info("database_back", waited=round(loop.time() - started, 1), **context)
            return
        if loop.time() - last_said >= STILL_WAITING_EVERY:
            last_said = loop.time()
            log.warning("database_still_unavailable", waited=round(last_said - started), **context)
