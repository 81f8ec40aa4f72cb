"""Storing the parts of concatenated SMS and finding groups that are complete or overdue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.message import InboundMessage
from inbound.states import PartGroupState
from inbound.store.models import MessagePart, PartGroup


class MessageParts:
    """Repository for part groups and their parts, on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def exists(self, provider: str, provider_message_id: str) -> bool:
        """True when this part (by its own id) is already stored."""
        found = await self._session.scalar(
            select(MessagePart.id).where(
                MessagePart.provider == provider,
                MessagePart.provider_message_id == provider_message_id,
            )
        )
        return found is not None

    async def lock_group(self, message: InboundMessage) -> PartGroup:
        """The part's group, created if new, locked so one worker at a time decides on it."""
        assert message.part is not None
        key = (
            PartGroup.provider == message.provider,
            PartGroup.sender == message.sender,
            PartGroup.recipient == message.recipient,
            PartGroup.reference == message.part.reference,
        )
        group_id = await self._session.scalar(select(PartGroup.id).where(*key))
        if group_id is None:
            group = PartGroup(
                provider=message.provider,
                sender=message.sender,
                recipient=message.recipient,
                reference=message.part.reference,
                total=message.part.total,
                state=PartGroupState.WAITING,
                first_seen_at=message.accepted_at,
            )
            try:
                async with self._session.begin_nested():
                    self._session.add(group)
            except IntegrityError:
                # Another worker created it first; use theirs.
                group_id = await self._session.scalar(select(PartGroup.id).where(*key))
            else:
                group_id = group.id
        locked = await self.lock(group_id)
        assert locked is not None
        return locked

    async def lock(self, group_id: int | None) -> PartGroup | None:
        """Load a group with a row lock (PostgreSQL; SQLite has a single writer anyway)."""
        if group_id is None:
            return None
        found: PartGroup | None = await self._session.scalar(
            select(PartGroup)
            .where(PartGroup.id == group_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return found

    async def add(self, group: PartGroup, message: InboundMessage) -> None:
        """Store one part of the group."""
        assert message.part is not None
        self._session.add(
            MessagePart(
                group_id=group.id,
                provider=message.provider,
                provider_message_id=message.provider_message_id,
                number=message.part.number,
                text=message.text,
                received_at=message.received_at,
                accepted_at=message.accepted_at,
            )
        )
        await self._session.flush()

    async def of(self, group: PartGroup) -> Sequence[MessagePart]:
        """The group's parts in arrival order."""
        rows = await self._session.scalars(
            select(MessagePart).where(MessagePart.group_id == group.id).order_by(MessagePart.id)
        )
        return rows.all()

    async def finish(self, group: PartGroup, message_id: int, state: PartGroupState) -> None:
        """Record the whole message and drop the parts' text, which the whole now carries."""
        group.state = state
        group.message_id = message_id
        await self._session.execute(
            update(MessagePart).where(MessagePart.group_id == group.id).values(text=None)
        )
        await self._session.flush()

    async def overdue(self, first_seen_before: datetime, limit: int = 100) -> list[int]:
        """Ids of groups still waiting that started before the cut-off."""
        rows = await self._session.scalars(
            select(PartGroup.id)
            .where(
                PartGroup.state == PartGroupState.WAITING,
                PartGroup.first_seen_at < first_seen_before,
            )
            .order_by(PartGroup.first_seen_at)
            .limit(limit)
        )
        return list(rows.all())
