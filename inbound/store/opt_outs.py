"""The opt-out register: per service, the numbers that asked not to be texted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from inbound.store.models import OptOut


@dataclass(frozen=True)
class OptedOut:
    """One entry of a service's register, as a page shows it."""

    id: int
    number: str  # in full (E.164): the page masks it
    opted_out_at: datetime


class OptOuts:
    """Repository for the per-service register of numbers that asked not to be texted."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def opt_out(self, service_id: str, number: str) -> None:
        """Add a number to the service's register (no-op when already there)."""
        if not await self.is_opted_out(service_id, number):
            self._session.add(
                OptOut(service_id=service_id, number=number, opted_out_at=datetime.now(UTC))
            )
            await self._session.flush()

    async def opt_in(self, service_id: str, number: str) -> None:
        """Take a number off the service's register."""
        await self._session.execute(
            delete(OptOut).where(OptOut.service_id == service_id, OptOut.number == number)
        )

    async def is_opted_out(self, service_id: str, number: str) -> bool:
        """True when the number asked this service to stop."""
        found = await self._session.scalar(
            select(OptOut.id).where(OptOut.service_id == service_id, OptOut.number == number)
        )
        return found is not None

    async def count(self, service_id: str) -> int:
        """How many numbers are on the service's register."""
        found = await self._session.scalar(
            select(func.count()).select_from(OptOut).where(OptOut.service_id == service_id)
        )
        return int(found or 0)

    async def newest(self, service_id: str, offset: int, limit: int) -> list[OptedOut]:
        """A page of the service's register, newest first (the id breaks a tie in time)."""
        rows = await self._session.execute(
            select(OptOut.id, OptOut.number, OptOut.opted_out_at)
            .where(OptOut.service_id == service_id)
            .order_by(OptOut.opted_out_at.desc(), OptOut.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [OptedOut(*row) for row in rows.all()]

    async def find(self, service_id: str, number: str) -> OptedOut | None:
        """The service's entry for a number (E.164), if it is on the register."""
        return await self._one(OptOut.service_id == service_id, OptOut.number == number)

    async def entry(self, service_id: str, opt_out_id: int) -> OptedOut | None:
        """An entry by its id, only within the service's register."""
        return await self._one(OptOut.service_id == service_id, OptOut.id == opt_out_id)

    async def remove(self, service_id: str, opt_out_id: int) -> bool:
        """Take an entry off the service's register; False when it was no longer there."""
        result = await self._session.execute(
            delete(OptOut).where(OptOut.service_id == service_id, OptOut.id == opt_out_id)
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount) == 1

    async def _one(self, *where: ColumnElement[bool]) -> OptedOut | None:
        row = (
            await self._session.execute(
                select(OptOut.id, OptOut.number, OptOut.opted_out_at).where(*where)
            )
        ).one_or_none()
        return None if row is None else OptedOut(*row)
