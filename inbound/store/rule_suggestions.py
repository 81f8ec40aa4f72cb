"""Caseworkers' decisions read back, for the keywords they suggest (`inbound.rules.suggestions`).

A decision lives on the review item it closed (`decision`: an action or "dismissed",
`decided_by`, `decided_at`); an undone decision is cleared there, so it teaches nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.rules.model import ServiceRules
from inbound.rules.suggestions import CaseworkerDecision
from inbound.states import ReviewState
from inbound.store.history import messages_for_service
from inbound.store.models import Message, ReviewItem

CLOSED = (ReviewState.RESOLVED.value, ReviewState.DISMISSED.value)


async def decisions_for_service(
    session: AsyncSession, service_id: str, since: datetime
) -> list[CaseworkerDecision]:
    """The service's review items closed by a caseworker since `since`, with their reply."""
    query = (
        select(
            ReviewItem.message_id,
            ReviewItem.id,
            Message.text,
            ReviewItem.decision,
            ReviewItem.decided_by,
            ReviewItem.decided_at,
        )
        .join(Message, Message.id == ReviewItem.message_id)
        .where(
            ReviewItem.service_id == service_id,
            ReviewItem.state.in_(CLOSED),
            ReviewItem.decision.is_not(None),
            ReviewItem.decided_at >= since,
        )
        .order_by(ReviewItem.decided_at, ReviewItem.id)
    )
    rows = await session.execute(query)
    return [
        CaseworkerDecision(message_id, item_id, text, decision, by, at)
        for message_id, item_id, text, decision, by, at in rows
        if decision is not None
    ]


async def window(
    session: AsyncSession, rules: ServiceRules, since: datetime
) -> tuple[list[CaseworkerDecision], list[str | None]]:
    """What mining reads: the decisions made since `since`, and the text of every reply of the
    service received since then (None when purged). Reads only."""
    service = rules.service
    decisions = await decisions_for_service(session, service.id, since)
    found = messages_for_service(session, service.id, service.numbers, since)
    return decisions, [past.text async for past in found]
