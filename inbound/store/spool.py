"""The spool table: accepted messages RabbitMQ didn't confirm, kept until relayed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.message import InboundMessage
from inbound.store.models import SpoolEntry


@dataclass(frozen=True)
class SpoolStatus:
    """What is waiting in the spool."""

    waiting: int
    oldest: datetime | None
    most_attempts: int
    last_error: str | None


class Spool:
    """Repository for spooled messages, on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: InboundMessage) -> bool:
        """Spool a message; False when it is already spooled (a provider's retry)."""
        found = await self._session.scalar(
            select(SpoolEntry.id).where(
                SpoolEntry.provider == message.provider,
                SpoolEntry.provider_message_id == message.provider_message_id,
            )
        )
        if found is not None:
            return False
        self._session.add(
            SpoolEntry(
                provider=message.provider,
                provider_message_id=message.provider_message_id,
                body=message.to_json().decode("utf-8"),
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )
        await self._session.flush()
        return True

    async def claim(self, limit: int) -> list[SpoolEntry]:
        """The oldest entries, locked for this transaction (other relays skip them)."""
        rows = await self._session.scalars(
            select(SpoolEntry)
            .order_by(SpoolEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows.all())

    async def remove(self, ids: list[int]) -> None:
        """Delete entries RabbitMQ has confirmed."""
        if ids:
            await self._session.execute(delete(SpoolEntry).where(SpoolEntry.id.in_(ids)))

    async def status(self) -> SpoolStatus:
        """How many entries wait, since when, and the latest failure."""
        count, oldest, attempts = (
            await self._session.execute(
                select(func.count(), func.min(SpoolEntry.created_at), func.max(SpoolEntry.attempts))
            )
        ).one()
        if oldest is not None and oldest.tzinfo is None:  # SQLite's aggregate skips the type
            oldest = oldest.replace(tzinfo=UTC)
        last_error = await self._session.scalar(
            select(SpoolEntry.last_error)
            .where(SpoolEntry.last_error.is_not(None))
            .order_by(SpoolEntry.id.desc())
            .limit(1)
        )
        return SpoolStatus(int(count or 0), oldest, int(attempts or 0), last_error)
