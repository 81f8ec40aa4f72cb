"""The Notify poller's rows: which texts inbound has, and the one-poller-per-service lease.

A lease row, not a PostgreSQL advisory lock: it works on SQLite too, survives a connection
drop, and carries what the next poll needs (when the last one ended, and when it began).
Claiming is one conditional UPDATE, which PostgreSQL serialises on the row and SQLite on its
one writer, so of several processes asking at once exactly one gets it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import Message, NotifyPoll, SpoolEntry


@dataclass(frozen=True)
class Lease:
    """A service's poll, held by this process until `until`; `covered_to`: when the last
    complete poll began (None before the first)."""

    service_id: str
    holder: str
    until: datetime
    covered_to: datetime | None


def _changed(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


class NotifyPolls:
    """Repository for the poller, on one session (each call its caller's transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def known(self, provider: str, ids: Collection[str]) -> set[str]:
        """Which of these provider message ids inbound already has: stored, or in the spool
        waiting for RabbitMQ (durable either way)."""
        if not ids:
            return set()
        stored = await self._session.scalars(
            select(Message.provider_message_id).where(
                Message.provider == provider, Message.provider_message_id.in_(ids)
            )
        )
        spooled = await self._session.scalars(
            select(SpoolEntry.provider_message_id).where(
                SpoolEntry.provider == provider, SpoolEntry.provider_message_id.in_(ids)
            )
        )
        return set(stored.all()) | set(spooled.all())

    async def claim(
        self, service_id: str, holder: str, now: datetime, every: timedelta, lease: timedelta
    ) -> Lease | None:
        """The service's poll for `holder`, when no one holds it and its last complete poll
        ended `every` ago or more; None otherwise."""
        await self._ensure(service_id)
        result = await self._session.execute(
            update(NotifyPoll)
            .where(
                NotifyPoll.service_id == service_id,
                or_(NotifyPoll.lease_until.is_(None), NotifyPoll.lease_until < now),
                or_(NotifyPoll.polled_at.is_(None), NotifyPoll.polled_at <= now - every),
            )
            .values(holder=holder, lease_until=now + lease)
        )
        if _changed(result) != 1:
            return None
        covered = await self._session.scalar(
            select(NotifyPoll.covered_to).where(NotifyPoll.service_id == service_id)
        )
        return Lease(service_id, holder, now + lease, covered)

    async def renew(self, lease: Lease, until: datetime) -> bool:
        """Extend a held lease; False when it lapsed and another process took it."""
        result = await self._session.execute(
            update(NotifyPoll)
            .where(NotifyPoll.service_id == lease.service_id, NotifyPoll.holder == lease.holder)
            .values(lease_until=until)
        )
        return _changed(result) == 1

    async def finish(self, lease: Lease, now: datetime, covered_to: datetime | None) -> None:
        """Release the lease: the poll ended now, having seen every text Notify had at
        `covered_to` (None: it didn't get through, so the coverage stays what it was)."""
        values: dict[str, Any] = {"holder": None, "lease_until": None, "polled_at": now}
        if covered_to is not None:
            values["covered_to"] = covered_to
        await self._session.execute(
            update(NotifyPoll)
            .where(NotifyPoll.service_id == lease.service_id, NotifyPoll.holder == lease.holder)
            .values(**values)
        )

    async def _ensure(self, service_id: str) -> None:
        found = await self._session.scalar(
            select(NotifyPoll.service_id).where(NotifyPoll.service_id == service_id)
        )
        if found is not None:
            return
        try:
            async with self._session.begin_nested():
                self._session.add(NotifyPoll(service_id=service_id))
        except IntegrityError:
            pass  # another process made it first: the UPDATE that follows sees it
