"""Callbacks and replies that gave up: listed for a person, and put back to be sent again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.states import ActionKind, ActionState
from inbound.store.models import Action, Message, ReviewItem

# The most a page lists: the newest to give up first, then Next for older ones.
LIMIT = 50


@dataclass(frozen=True)
class Undelivered:
    """One action as the "could not be delivered" page shows it."""

    id: int
    service_id: str
    kind: str  # callback | reply
    state: str
    number: str  # a reply's recipient, a callback's sender: callers mask it
    last_error: str | None
    attempts: int
    created_at: datetime
    gave_up_at: datetime | None
    what: str | None  # a callback's outcome (confirm, cancel…), a reply's text; None if purged
    item_id: int | None  # the review item of the message, if it has one

    @property
    def has_payload(self) -> bool:
        """False once retention has cleared what it would send."""
        return self.what is not None


# Where a page starts: (finished_at, id) of the row it continues from.
Cursor = tuple[datetime, int]


@dataclass(frozen=True)
class UndeliveredPage:
    """One page of actions that gave up, and the cursors of the pages beside it."""

    actions: list[Undelivered]
    older: Cursor | None  # Next: the page after its last row; None on the last page
    newer: Cursor | None  # Previous: the page before its first row; None on the first page


def _cursor(action: Undelivered) -> Cursor:
    assert action.gave_up_at is not None  # failed, so stamped
    return action.gave_up_at, action.id


def _query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Action.id,
            Action.service_id,
            Action.kind,
            Action.state,
            Action.recipient,
            Message.sender,
            Action.last_error,
            Action.attempts,
            Action.created_at,
            Action.finished_at,
            Action.payload,
            ReviewItem.id,
        )
        .select_from(Action)
        .join(Message, Message.id == Action.message_id)
        .outerjoin(ReviewItem, ReviewItem.message_id == Action.message_id)
    )


def _row(row: Any) -> Undelivered:
    action_id, service, kind, state, recipient, sender, error, attempts = row[:8]
    created, finished, payload, item = row[8:]
    payload = payload or {}
    if kind == ActionKind.REPLY:
        what = payload.get("text")
    else:
        event = payload.get("event")
        what = event.get("action") if isinstance(event, dict) else None
    number = recipient if kind == ActionKind.REPLY and recipient else sender
    return Undelivered(
        action_id,
        service,
        kind,
        state,
        number,
        error,
        attempts,
        created,
        finished,
        what if isinstance(what, str) else None,
        item,
    )


class UndeliveredActions:
    """Repository for the actions that gave up (state failed)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def listed(
        self,
        services: Sequence[str],
        limit: int = LIMIT,
        older_than: Cursor | None = None,
        newer_than: Cursor | None = None,
    ) -> UndeliveredPage:
        """A page of the given services' actions that gave up, the newest to give up first:
        the first, the one after `older_than` (Next), or the one before `newer_than` (Previous).

        Keyset on (finished_at, id): a failed action always has its finished_at (the action
        worker stamps the attempt that gives up)."""
        if not services:
            return UndeliveredPage([], None, None)
        query = _query().where(
            Action.state == ActionState.FAILED, Action.service_id.in_(list(services))
        )
        newest_first = (Action.finished_at.desc(), Action.id.desc())
        backwards = older_than is None and newer_than is not None
        if older_than is not None:
            at, last_id = older_than
            query = query.where(
                Action.finished_at <= at,
                or_(Action.finished_at < at, and_(Action.finished_at == at, Action.id < last_id)),
            ).order_by(*newest_first)
        elif newer_than is not None:
            at, first_id = newer_than
            query = query.where(
                Action.finished_at >= at,
                or_(Action.finished_at > at, and_(Action.finished_at == at, Action.id > first_id)),
            ).order_by(Action.finished_at, Action.id)  # the nearest first; shown newest first
        else:
            query = query.order_by(*newest_first)
        rows = [_row(row) for row in (await self._session.execute(query.limit(limit + 1))).all()]
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        first = _cursor(rows[0]) if rows else None
        last = _cursor(rows[-1]) if rows else None
        if backwards:
            # Come back from an older page: that page is Next; Previous only when rows were left.
            return UndeliveredPage(rows, last, first if more else None)
        return UndeliveredPage(rows, last if more else None, first if older_than else None)

    async def get(self, action_id: int) -> Undelivered | None:
        """One action, whatever its state or service (the caller checks both)."""
        row = (await self._session.execute(_query().where(Action.id == action_id))).one_or_none()
        return None if row is None else _row(row)

    async def try_again(self, action_id: int) -> bool:
        """Put a failed action back to pending with a fresh count of attempts, for the outbox
        to hand over after the commit (or the sweep, if that is lost: it is unpublished again).
        False when it wasn't failed any more (someone else tried it again a moment ago)."""
        result = await self._session.execute(
            update(Action)
            .where(Action.id == action_id, Action.state == ActionState.FAILED)
            .values(
                state=ActionState.PENDING,
                attempts=0,
                first_attempt_at=None,
                finished_at=None,
                claimed_until=None,
                published_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount) == 1
