"""Reads for `inbound trace`: find stored messages by what a person has in hand, and read their
callbacks and replies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.states import ActionKind
from inbound.store.messages import MessageTrace
from inbound.store.models import Action, Message, Outcome, PromptRow, ReviewItem
from inbound.trace import ActionFacts, Wanted


async def find(session: AsyncSession, wanted: Wanted, provider: str | None) -> list[MessageTrace]:
    """The stored messages `wanted` names (one per provider when providers share an id).

    An item number or action id names one message. Any other id is tried as a provider's
    message id, then as a callback's or reply's idempotency key (a callback's event id and its
    Idempotency-Key header), then as the `provider:id` key the logs name a message by.
    """
    if wanted.kind == "item":
        item = select(ReviewItem.message_id).where(ReviewItem.id == int(wanted.value))
        return await _traces(session, Message.id.in_(item), provider)
    if wanted.kind == "action":
        action = select(Action.message_id).where(Action.id == int(wanted.value))
        return await _traces(session, Message.id.in_(action), provider)
    found = await _traces(session, Message.provider_message_id == wanted.value, provider)
    if found:
        return found
    keyed = select(Action.message_id).where(Action.idempotency_key == wanted.value)
    found = await _traces(session, Message.id.in_(keyed), provider)
    if found or ":" not in wanted.value:
        return found
    named, _, rest = wanted.value.partition(":")
    if provider not in (None, named):
        return []
    return await _traces(session, Message.provider_message_id == rest, named)


async def actions_of(session: AsyncSession, message_id: int) -> list[ActionFacts]:
    """A message's callbacks and replies, in the order they were recorded."""
    rows = await session.execute(
        select(
            Action.id,
            Action.idempotency_key,
            Action.kind,
            Action.state,
            Action.attempts,
            Action.payload,
            Action.recipient,
            Action.last_error,
            Action.created_at,
            Action.published_at,
            Action.first_attempt_at,
            Action.finished_at,
        )
        .where(Action.message_id == message_id)
        .order_by(Action.id)
    )
    return [
        ActionFacts(
            id=row.id,
            key=row.idempotency_key,
            kind=row.kind,
            state=row.state,
            attempts=row.attempts,
            url=row.payload.get("url") if row.kind == ActionKind.CALLBACK else None,
            recipient=row.recipient,
            last_error=row.last_error,
            created_at=row.created_at,
            published_at=row.published_at,
            first_attempt_at=row.first_attempt_at,
            finished_at=row.finished_at,
        )
        for row in rows
    ]


async def _traces(
    session: AsyncSession, which: ColumnElement[bool], provider: str | None
) -> list[MessageTrace]:
    query = (
        select(Message, Outcome, ReviewItem, PromptRow)
        .outerjoin(Outcome, Outcome.message_id == Message.id)
        .outerjoin(ReviewItem, ReviewItem.message_id == Message.id)
        .outerjoin(PromptRow, PromptRow.id == Message.prompt_id)
        .where(which)
        .order_by(Message.provider)
    )
    if provider is not None:
        query = query.where(Message.provider == provider)
    rows = await session.execute(query)
    return [MessageTrace(*row) for row in rows]
