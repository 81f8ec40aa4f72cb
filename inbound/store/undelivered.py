"""Callbacks and replies that gave up: listed for a person, and put back to be sent again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.states import ActionKind, ActionState
from inbound.store.models import Action, Message, ReviewItem

# The most a page lists: the newest to give up first.
LIMIT = 200


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

    async def listed(self, services: Sequence[str], limit: int = LIMIT) -> list[Undelivered]:
        """The given services' actions that gave up, the newest to give up first."""
        if not services:
            return []
        rows = await self._session.execute(
            _query()
            .where(Action.state == ActionState.FAILED, Action.service_id.in_(list(services)))
            .order_by(Action.finished_at.desc(), Action.id.desc())
            .limit(limit)
        )
        return [_row(row) for row in rows.all()]

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
