"""Numbers for metrics and dashboards, read straight from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.states import LIVE_REVIEW_STATES
from inbound.store.models import ReviewItem, SpoolEntry


@dataclass(frozen=True)
class ReviewLoad:
    """Open review items of one service ('none': numbers no service owns)."""

    service: str
    open: int
    oldest_seconds: float


async def review_load(session: AsyncSession) -> list[ReviewLoad]:
    """Open items and the age of the oldest, per service."""
    rows = await session.execute(
        select(ReviewItem.service_id, func.count(), func.min(ReviewItem.created_at))
        .where(ReviewItem.state.in_(LIVE_REVIEW_STATES))
        .group_by(ReviewItem.service_id)
    )
    now = datetime.now(UTC)
    loads = []
    for service, count, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:  # SQLite's aggregate skips the type
            oldest = oldest.replace(tzinfo=UTC)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        loads.append(ReviewLoad(service or "none", int(count), max(age, 0.0)))
    return loads


async def spool_depth(session: AsyncSession) -> int:
    """Messages waiting in the spool."""
    return int(await session.scalar(select(func.count()).select_from(SpoolEntry)) or 0)
