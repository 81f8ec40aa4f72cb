"""The actions outbox: callbacks and replies waiting to be, or already, delivered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from inbound.states import ActionKind, ActionState
from inbound.store.models import Action


@dataclass(frozen=True)
class Claimed:
    """An action claimed for one attempt, with what the attempt and its record need: the claim
    loads them in the same statement, so nothing else reads the row."""

    id: int
    message_id: int
    service_id: str
    kind: str
    idempotency_key: str
    recipient: str | None
    payload: dict[str, Any]
    attempts: int  # attempts before this one: only the claim's holder changes it
    first_attempt_at: datetime | None
    until: datetime  # the claim's end, as stored: the record finds its claim by it


class Actions:
    """Repository for callbacks and replies waiting to be, or already, delivered."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        message_id: int,
        service_id: str,
        kind: ActionKind,
        key: str,
        payload: Mapping[str, Any],
        recipient: str | None = None,
        state: ActionState = ActionState.PENDING,
        note: str | None = None,
        flush: bool = True,
        not_before: datetime | None = None,
    ) -> Action:
        """Record an action in the outcome's transaction (flush=False: the caller flushes, and
        only then has the row an id)."""
        row = Action(
            message_id=message_id,
            service_id=service_id,
            kind=kind,
            idempotency_key=key,
            recipient=recipient,
            payload=dict(payload),
            state=state,
            attempts=0,
            last_error=note,
            created_at=datetime.now(UTC),
            not_before=not_before,
        )
        self._session.add(row)
        if flush:
            await self._session.flush()
        return row

    async def lock_recipient(self, service_id: str, number: str) -> None:
        """Serialise reply decisions for one number until this transaction ends, so concurrent
        workers (or caseworkers' requests) can't each see room under the cap."""
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"reply:{service_id}:{number}"},
            )
        elif dialect == "sqlite":
            # SQLite's driver begins a transaction only at the first write, so a count read
            # before it holds no lock at all and two requests could both see room. A write that
            # changes nothing takes the database's one write lock now, until the commit.
            await self._session.execute(text("UPDATE actions SET id = id WHERE 0"))

    async def replies_since(self, service_id: str, number: str, since: datetime) -> int:
        """Replies sent (or queued) to a number by a service since a time."""
        count = await self._session.scalar(
            select(func.count()).select_from(Action).where(*_replies_to(service_id, number, since))
        )
        return int(count or 0)

    async def reply_times_since(
        self, service_id: str, number: str, since: datetime
    ) -> list[datetime]:
        """When each reply `replies_since` counts was recorded, oldest first."""
        found = await self._session.scalars(
            select(Action.created_at)
            .where(*_replies_to(service_id, number, since))
            .order_by(Action.created_at)
        )
        return list(found)

    async def claim(self, action_id: int, *, now: datetime, until: datetime) -> Claimed | None:
        """Claim a pending action for one attempt until `until` and load what the attempt
        needs; None unless this caller got it (not pending, or another worker holds it). One
        conditional UPDATE (`attempts.may_claim` in SQL) with RETURNING: of two workers
        claiming at once, the database lets one change the row and the other finds it changed."""
        result = await self._session.execute(
            update(Action)
            .where(
                Action.id == action_id,
                Action.state == ActionState.PENDING,
                or_(Action.claimed_until.is_(None), Action.claimed_until <= now),
            )
            .values(claimed_until=until)
            .returning(
                Action.message_id,
                Action.service_id,
                Action.kind,
                Action.idempotency_key,
                Action.recipient,
                Action.payload,
                Action.attempts,
                Action.first_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )
        found = result.one_or_none()
        if found is None:
            return None
        message, service, kind, key, recipient, payload, attempts, first = found
        return Claimed(
            action_id, message, service, kind, key, recipient, payload, attempts, first, until
        )

    async def record(
        self,
        claimed: Claimed,
        *,
        attempts: int,
        first_attempt_at: datetime,
        state: ActionState,
        last_error: str | None,
        finished_at: datetime | None,
    ) -> bool:
        """Record an attempt and let go of its claim in one conditional UPDATE; False when the
        claim isn't there any more (it lapsed, and the sweep or another worker took the action
        over): the action is theirs now, and this attempt's record is dropped."""
        values: dict[str, Any] = {
            "attempts": attempts,
            "first_attempt_at": first_attempt_at,
            "state": state,
            "last_error": last_error,
            "claimed_until": None,
        }
        if finished_at is not None:
            values["finished_at"] = finished_at
        result = await self._session.execute(
            update(Action)
            .where(
                Action.id == claimed.id,
                Action.state == ActionState.PENDING,
                Action.claimed_until == claimed.until,
            )
            .values(values)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def claim_of(self, action_id: int) -> tuple[str, datetime | None] | None:
        """An action's state and claim (None if there is no such action): why a claim failed."""
        found = await self._session.execute(
            select(Action.state, Action.claimed_until).where(Action.id == action_id)
        )
        row = found.one_or_none()
        return None if row is None else (row[0], row[1])

    async def lapsed_claims(self, now: datetime, limit: int = 500) -> list[int]:
        """Pending actions whose claim has lapsed without being let go: their worker died
        between claiming and recording (a live worker lets go when it records)."""
        rows = await self._session.scalars(
            select(Action.id)
            .where(Action.state == ActionState.PENDING, Action.claimed_until <= now)
            .order_by(Action.id)
            .limit(limit)
        )
        return list(rows.all())

    async def let_go_lapsed(self, ids: Iterable[int], now: datetime) -> None:
        """Clear lapsed claims (not one a worker took again meanwhile), so the next copy on the
        queue can claim the action and the sweep doesn't hand it over twice."""
        await self._session.execute(
            update(Action)
            .where(Action.id.in_(list(ids)), Action.claimed_until <= now)
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )

    async def services_of(self, ids: Iterable[int]) -> dict[int, str]:
        """The service each of these actions is for."""
        rows = await self._session.execute(
            select(Action.id, Action.service_id).where(Action.id.in_(list(ids)))
        )
        return dict(rows.all())

    async def unpublished(
        self, created_before: datetime, limit: int = 500, now: datetime | None = None
    ) -> list[int]:
        """Pending actions never handed to RabbitMQ (a stop between commit and publish, or held
        back by `not_before`, which has passed by `now`)."""
        due = now or datetime.now(UTC)
        rows = await self._session.scalars(
            select(Action.id)
            .where(
                Action.state == ActionState.PENDING,
                Action.published_at.is_(None),
                Action.created_at < created_before,
                or_(Action.not_before.is_(None), Action.not_before <= due),
            )
            .order_by(Action.id)
            .limit(limit)
        )
        return list(rows.all())

    async def mark_published(self, ids: Iterable[int]) -> None:
        """Note that these actions are on the queue."""
        await self._session.execute(
            update(Action)
            .where(Action.id.in_(list(ids)), Action.published_at.is_(None))
            .values(published_at=datetime.now(UTC))
        )

    async def withdraw_held(self, message_id: int) -> bool | None:
        """Delete a message's held actions (`not_before` set: a caseworker's decision) that
        nothing has touched yet; False, deleting none, when any was handed over, claimed or
        attempted (it may have left); None when it had none."""
        held = (
            await self._session.execute(
                select(Action.id, Action.state, Action.published_at, Action.claimed_until).where(
                    Action.message_id == message_id, Action.not_before.is_not(None)
                )
            )
        ).all()
        if not held:
            return None
        if any(
            state != ActionState.PENDING or published is not None or claimed is not None
            for _, state, published, claimed in held
        ):
            return False
        # Conditional too: a worker's claim (state pending, unclaimed) racing this delete finds
        # no row, and a sweep's hand-over finds none to mark.
        result = await self._session.execute(
            delete(Action)
            .where(
                Action.id.in_([row[0] for row in held]),
                Action.state == ActionState.PENDING,
                Action.published_at.is_(None),
                Action.claimed_until.is_(None),
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == len(held)


def _rowcount(result: object) -> int:
    # An UPDATE's result is a CursorResult, which knows how many rows it changed.
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _replies_to(service_id: str, number: str, since: datetime) -> tuple[ColumnElement[bool], ...]:
    """The replies that count against a number's hourly cap: sent or still to be sent."""
    return (
        Action.kind == ActionKind.REPLY,
        Action.service_id == service_id,
        Action.recipient == number,
        Action.state.in_((ActionState.PENDING, ActionState.DELIVERED)),
        Action.created_at >= since,
    )
