"""Reading one service's received texts for the Notify-shaped API, newest first, a page at a
time after a cursor (`inbound.received_texts`).

Newest first is by the time the provider stated (`received_at`, Notify's `created_at`), then by
row id, so messages with the same time still page in one order and none is skipped or repeated.
Only messages whose text is still stored are listed: once retention has purged a message's
content there is nothing left to give in `content` (Notify likewise lists 7 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.received_texts import NOTIFY_PROVIDER, ReceivedText
from inbound.store.models import Message, Outcome, PromptRow, ReviewItem


@dataclass(frozen=True)
class Position:
    """Where a message stands in the newest-first order; a page after it starts below it."""

    received_at: datetime
    row_id: int


class ReceivedTexts:
    """Repository: a service's stored messages, with what inbound did about each."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def position(
        self, service_id: str, *, row_id: int | None = None, notify_id: str | None = None
    ) -> Position | None:
        """The position of this service's message with this row id or Notify id; None when
        there is none (another service's, purged, or never stored)."""
        query = select(Message.received_at, Message.id).where(
            Message.service_id == service_id, Message.text.is_not(None)
        )
        if row_id is not None:
            query = query.where(Message.id == row_id)
        elif notify_id is not None:
            query = query.where(
                Message.provider == NOTIFY_PROVIDER, Message.provider_message_id == notify_id
            )
        else:
            return None
        found = (await self._session.execute(query)).first()
        return Position(found[0], found[1]) if found is not None else None

    async def page(
        self, service_id: str, older_than: Position | None, limit: int
    ) -> list[ReceivedText]:
        """Up to `limit` of the service's messages below `older_than` (or the newest)."""
        query = (
            select(Message, Outcome.action, Outcome.rule, ReviewItem.state, PromptRow.reference)
            .outerjoin(Outcome, Outcome.message_id == Message.id)
            .outerjoin(ReviewItem, ReviewItem.message_id == Message.id)
            .outerjoin(
                PromptRow,
                and_(PromptRow.id == Message.prompt_id, PromptRow.service_id == service_id),
            )
            .where(Message.service_id == service_id, Message.text.is_not(None))
            .order_by(Message.received_at.desc(), Message.id.desc())
            .limit(limit)
        )
        if older_than is not None:
            query = query.where(
                or_(
                    Message.received_at < older_than.received_at,
                    and_(
                        Message.received_at == older_than.received_at,
                        Message.id < older_than.row_id,
                    ),
                )
            )
        rows = (await self._session.execute(query)).all()
        return [
            ReceivedText(
                row_id=message.id,
                provider=message.provider,
                provider_message_id=message.provider_message_id,
                sender=message.sender,
                recipient=message.recipient,
                service_id=service_id,
                content=message.text or "",
                received_at=message.received_at,
                status=message.status,
                action=action,
                rule=rule,
                review_state=state,
                prompt_reference=reference,
            )
            for message, action, rule, state, reference in rows
        ]
