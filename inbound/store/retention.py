"""Purging message content after each service's retention; ids, outcomes and opt-outs stay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, CursorResult, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import Message, MessagePart

DEFAULT_RETENTION_DAYS = 7


@dataclass(frozen=True)
class Purged:
    """How many texts one purge cleared."""

    messages: int
    parts: int


async def purge_content(
    session: AsyncSession,
    retention_days: Mapping[str, int],
    now: datetime,
    default_days: int = DEFAULT_RETENTION_DAYS,
) -> Purged:
    """Clear the text of messages older than their service's retention (`default_days` for
    messages no known service owns), and of stray multipart parts older than the default."""
    cleared = 0
    for service_id, days in retention_days.items():
        cleared += await _clear(
            session,
            Message.service_id == service_id,
            Message.received_at < now - timedelta(days=days),
        )
    cleared += await _clear(
        session,
        or_(Message.service_id.is_(None), Message.service_id.not_in(list(retention_days))),
        Message.received_at < now - timedelta(days=default_days),
    )
    parts: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(MessagePart)
        .where(
            MessagePart.text.is_not(None),
            MessagePart.received_at < now - timedelta(days=default_days),
        )
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    return Purged(cleared, parts.rowcount or 0)


async def _clear(session: AsyncSession, *conditions: ColumnElement[bool]) -> int:
    result: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(Message)
        .where(Message.text.is_not(None), *conditions)
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
