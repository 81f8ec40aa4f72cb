"""Finding and telling which services have no caseworker: loads the roles, asks
`coverage.without_caseworker`, and logs a warning for each (at start-up and each rules reload)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.logs import get_logger
from inbound.review.coverage import warning, without_caseworker
from inbound.store.users import Users

log = get_logger("coverage")


async def services_without_caseworker(
    sessions: async_sessionmaker[AsyncSession], services: Iterable[str]
) -> tuple[str, ...]:
    """Of these services, those no active user can work the queue of."""
    async with sessions() as session:
        members = await Users(session).members()
    return without_caseworker(services, members)


async def warn_without_caseworker(
    sessions: async_sessionmaker[AsyncSession], services: Iterable[str], when: str
) -> tuple[str, ...]:
    """Log `service_without_caseworker` for each service nobody can work; return them.

    A database that can't answer now only costs the warning (logged as such): the rules load
    whatever the roles are.
    """
    try:
        missing = await services_without_caseworker(sessions, services)
    except (SQLAlchemyError, OSError) as error:
        log.warning("caseworker_check_failed", when=when, error=type(error).__name__)
        return ()
    for service_id in missing:
        log.warning(
            "service_without_caseworker", service=service_id, when=when, fix=warning(service_id)
        )
    return missing
