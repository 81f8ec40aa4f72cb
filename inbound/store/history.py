"""Reading stored messages back with what happened to them, for `inbound rules replay`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import Message, Outcome, ReviewItem


@dataclass(frozen=True)
class PastMessage:
    """A stored message and its fate: an automatic outcome (`action`) or a review item."""

    id: int
    provider: str
    provider_message_id: str
    sender: str
    text: str | None  # None once purged after the service's retention
    received_at: datetime
    status: str  # processed, review, or repeat (the same answer to a prompt again)
    action: str | None  # the automatic outcome's action; None when it went to review
    rule: str | None
    review_reason: str | None
    # What a caseworker decided on its review item: an action, or "dismissed"; None while no
    # person has. Their action is stored as an outcome too (rule "caseworker"), but it is not
    # an automatic one, so `action` stays None.
    decided: str | None = None


async def messages_for_service(
    session: AsyncSession,
    service_id: str,
    numbers: Collection[str],
    since: datetime,
    batch: int = 500,
) -> AsyncIterator[PastMessage]:
    """Messages for a service (by id, or sent to one of its numbers) received since `since`.

    Oldest first; read in batches so a long history doesn't sit in memory at once.
    """
    owned = Message.service_id == service_id
    query = (
        select(
            Message.id,
            Message.provider,
            Message.provider_message_id,
            Message.sender,
            Message.text,
            Message.received_at,
            Message.status,
            Outcome.action,
            Outcome.rule,
            ReviewItem.reason,
            ReviewItem.rule,
            ReviewItem.decided_by,
            ReviewItem.decision,
        )
        .outerjoin(Outcome, Outcome.message_id == Message.id)
        .outerjoin(ReviewItem, ReviewItem.message_id == Message.id)
        .where(or_(owned, Message.recipient.in_(list(numbers))) if numbers else owned)
        .where(Message.received_at >= since)
        .order_by(Message.received_at, Message.id)
        .execution_options(yield_per=batch)
    )
    result = await session.stream(query)
    async for row in result:
        (
            id_,
            provider,
            provider_id,
            sender,
            text,
            received,
            status,
            action,
            rule,
            reason,
            review_rule,
            decided_by,
            decision,
        ) = row
        decided: str | None = decision if decided_by is not None else None
        # The caseworker's outcome is not the rules': it is no automatic action.
        automatic: str | None = action if decided is None else None
        yield PastMessage(
            id=id_,
            provider=provider,
            provider_message_id=provider_id,
            sender=sender,
            text=text,
            received_at=received,
            status=status,
            action=automatic,
            rule=rule if automatic is not None else review_rule,
            review_reason=reason,
            decided=decided,
        )
