"""The caseworkers' queue: scoped, keyset-paginated reads and atomic state changes.

Every query takes a Scope; an item outside it is indistinguishable from one that doesn't exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.states import LIVE_REVIEW_STATES, ReviewState
from inbound.store.models import Membership, Message, Note, Outcome, ReviewItem, User
from inbound.store.users import REMOVED_HASH, Audit, Scope

PAGE_SIZE = 50
# How far apart the receiver's and the workers' clocks may be, at most.
CLOCK_SLACK = timedelta(days=1)
STATES = tuple(ReviewState)


@dataclass(frozen=True)
class QueueFilter:
    """What the caseworker asked to see. `states` empty means open and claimed."""

    service: str | None = None
    reason: str | None = None  # words the stored reason contains
    reasons: tuple[str, ...] | None = None  # the stored reasons of a reason group, exactly
    states: tuple[str, ...] = ()
    mine: bool = False
    text: str | None = None
    after: tuple[datetime, int] | None = None  # keyset cursor: (created_at, id) of the last row
    before: tuple[datetime, int] | None = None  # the page before this row (Previous)
    # Received on or after / before (accepted_at: when inbound took it, whatever the provider said).
    received_from: datetime | None = None
    received_until: datetime | None = None


@dataclass(frozen=True)
class QueueRow:
    item: ReviewItem
    message: Message
    claimed_by: str | None
    assigned_by: str | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_after: tuple[datetime, int] | None
    counts: dict[str, int]  # per state, within the scope and the service filter
    # The cursor of the page before this one (its first row); None on the first page.
    previous_before: tuple[datetime, int] | None = None


@dataclass(frozen=True)
class ItemView:
    item: ReviewItem
    message: Message
    conversation: Sequence[tuple[Message, Outcome | None, ReviewItem | None]]
    notes: list[tuple[Note, str]]
    claimed_by: str | None
    decided_by: str | None


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition: the item belongs to one of the scope's services (or unassigned)."""
    conditions: list[ColumnElement[bool]] = []
    if scope.roles:
        conditions.append(ReviewItem.service_id.in_(scope.services))
    if scope.unassigned:
        conditions.append(ReviewItem.service_id.is_(None))
    return or_(*conditions) if conditions else false()


def _needs_message(wanted: QueueFilter) -> bool:
    """Whether the filter reads the item's message (its text; the time it was received is the
    item's own copy, `received_at`)."""
    return bool(wanted.text)


def _conditions(scope: Scope, wanted: QueueFilter, by_reason: bool) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions on the item (and its message, when `_needs_message`); the
    reason filter only when `by_reason`. The cursors are the caller's."""
    conditions: list[ColumnElement[bool]] = [
        in_scope(scope),
        ReviewItem.state.in_(wanted.states or LIVE_REVIEW_STATES),
    ]
    if wanted.service is not None:
        conditions.append(ReviewItem.service_id == wanted.service)
    if by_reason and wanted.reasons is not None:
        conditions.append(ReviewItem.reason.in_(wanted.reasons) if wanted.reasons else false())
    if by_reason and wanted.reason:
        conditions.append(ReviewItem.reason.contains(wanted.reason, autoescape=True))
    if wanted.mine:
        conditions.append(ReviewItem.claimed_by == scope.user_id)
    if wanted.received_from is not None:
        conditions += [
            ReviewItem.received_at >= wanted.received_from,
            # Redundant: an item is opened after its message was accepted (a day allows for
            # clocks that disagree). But it bounds the walk of the item's own index, which
            # the message's time can't: 140 ms to 7 ms over 100,000 items (EXPLAIN ANALYZE).
            ReviewItem.created_at >= wanted.received_from - CLOCK_SLACK,
        ]
    if wanted.received_until is not None:
        conditions.append(ReviewItem.received_at < wanted.received_until)
    if wanted.text:
        needle = wanted.text.strip()
        matches: list[ColumnElement[bool]] = [
            func.lower(Message.text).contains(needle.lower(), autoescape=True),
            Message.provider_message_id == needle,
        ]
        if needle.isdigit() and len(needle) < 10:
            matches.append(ReviewItem.id == int(needle))
        conditions.append(or_(*matches))
    return conditions


class ReviewQueue:
    """Repository for review items as caseworkers see them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page(
        self, scope: Scope, wanted: QueueFilter, size: int = PAGE_SIZE, counted: bool = True
    ) -> QueuePage:
        """One page, oldest first, continuing after the cursor (keyset on created_at, id), or
        the page before `wanted.before`; with the counts per state unless `counted` is False
        (the CSV, which doesn't show them)."""
        claimer = User.__table__.alias("claimer")
        assigner = User.__table__.alias("assigner")
        query = (
            select(ReviewItem, Message, claimer.c.email, assigner.c.email)
            .join(Message, Message.id == ReviewItem.message_id)
            .outerjoin(claimer, claimer.c.id == ReviewItem.claimed_by)
            .outerjoin(assigner, assigner.c.id == ReviewItem.assigned_by)
            .where(*_conditions(scope, wanted, by_reason=True))
        )
        backwards = wanted.before is not None and wanted.after is None
        if wanted.after is not None:
            created, last_id = wanted.after
            query = query.where(
                # Redundant with the OR below, but an index range PostgreSQL can start from
                # (migration 0013's index); the OR alone is a filter over every earlier item.
                ReviewItem.created_at >= created,
                or_(
                    ReviewItem.created_at > created,
                    and_(ReviewItem.created_at == created, ReviewItem.id > last_id),
                ),
            )
            query = query.order_by(ReviewItem.created_at, ReviewItem.id)
        elif wanted.before is not None:
            created, first_id = wanted.before
            query = query.where(
                ReviewItem.created_at <= created,  # the index range, as above
                or_(
                    ReviewItem.created_at < created,
                    and_(ReviewItem.created_at == created, ReviewItem.id < first_id),
                ),
            )
            # The rows just before the cursor, newest first; shown oldest first below.
            query = query.order_by(ReviewItem.created_at.desc(), ReviewItem.id.desc())
        else:
            query = query.order_by(ReviewItem.created_at, ReviewItem.id)
        found = list(await self._session.execute(query.limit(size + 1)))
        more = len(found) > size
        kept = found[:size]
        if backwards:
            kept.reverse()
        rows = [QueueRow(item, message, email, by) for item, message, email, by in kept]
        first = (rows[0].item.created_at, rows[0].item.id) if rows else None
        last = (rows[-1].item.created_at, rows[-1].item.id) if rows else None
        if backwards:
            # Come back from a later page: there is one after (that page), and one before only
            # when rows were left over; fewer than a page means this is the first page.
            next_after, previous_before = last, first if more else None
        else:
            next_after = last if more else None
            previous_before = first if wanted.after is not None else None
        counts: dict[str, int] = {state.value: 0 for state in STATES}
        if counted:
            base = [in_scope(scope)]
            if wanted.service is not None:
                base.append(ReviewItem.service_id == wanted.service)
            per_state = await self._session.execute(
                select(ReviewItem.state, func.count()).where(*base).group_by(ReviewItem.state)
            )
            counts.update({state: int(count) for state, count in per_state})
        return QueuePage(rows, next_after, counts, previous_before)

    async def reason_counts(self, scope: Scope, wanted: QueueFilter) -> list[tuple[str, int]]:
        """The items of the filter per stored reason, the reason filter left out (the queue
        groups them in words: `review.reason_counts`)."""
        query = select(ReviewItem.reason, func.count()).where(
            *_conditions(scope, wanted, by_reason=False)
        )
        if _needs_message(wanted):
            query = query.join(Message, Message.id == ReviewItem.message_id)
        found = await self._session.execute(query.group_by(ReviewItem.reason))
        return [(str(reason), int(count)) for reason, count in found]

    async def get(self, scope: Scope, item_id: int) -> ReviewItem | None:
        """The item if it is within the scope; None otherwise (a 404 to the caller)."""
        found: ReviewItem | None = await self._session.scalar(
            select(ReviewItem).where(ReviewItem.id == item_id, in_scope(scope))
        )
        return found

    async def service_of(self, item_id: int) -> str | None:
        """The service of any item (for auditing a refused attempt)."""
        found: str | None = await self._session.scalar(
            select(ReviewItem.service_id).where(ReviewItem.id == item_id)
        )
        return found

    async def view(self, scope: Scope, item_id: int) -> ItemView | None:
        """The item, its message, the conversation with that sender, and notes."""
        item = await self.get(scope, item_id)
        if item is None:
            return None
        message = await self._session.get(Message, item.message_id)
        assert message is not None
        same_place = (
            Message.service_id == item.service_id
            if item.service_id is not None
            else and_(Message.service_id.is_(None), Message.recipient == message.recipient)
        )
        history = await self._session.execute(
            select(Message, Outcome, ReviewItem)
            .outerjoin(Outcome, Outcome.message_id == Message.id)
            .outerjoin(ReviewItem, ReviewItem.message_id == Message.id)
            .where(Message.sender == message.sender, same_place)
            # Inbound's own clock: a provider's stated time (which may say 2001 or 2099) must
            # not move a message to either end of the conversation.
            .order_by(Message.accepted_at.desc(), Message.id.desc())
            .limit(50)
        )
        conversation = [(m, o, r) for m, o, r in reversed(list(history))]
        notes = await self._session.execute(
            select(Note, User.email)
            .join(User, User.id == Note.user_id)
            .where(Note.item_id == item.id)
            .order_by(Note.id)
        )
        return ItemView(
            item,
            message,
            conversation,
            [(note, email) for note, email in notes],
            await self._email(item.claimed_by),
            await self._email(item.decided_by),
        )

    async def _email(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        found: str | None = await self._session.scalar(select(User.email).where(User.id == user_id))
        return found

    async def claim(self, scope: Scope, item_id: int) -> bool:
        """Claim an open item; atomic, so of two caseworkers exactly one wins."""
        result = await self._session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == item_id, ReviewItem.state == ReviewState.OPEN, in_scope(scope))
            .values(
                state=ReviewState.CLAIMED,
                claimed_by=scope.user_id,
                claimed_at=datetime.now(UTC),
                touched_at=datetime.now(UTC),
                released_at=None,
                assigned_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release(self, scope: Scope, item_id: int) -> bool:
        """Give back an item this user holds."""
        result = await self._session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.id == item_id,
                ReviewItem.state == ReviewState.CLAIMED,
                ReviewItem.claimed_by == scope.user_id,
                in_scope(scope),
            )
            .values(state=ReviewState.OPEN, claimed_by=None, claimed_at=None, assigned_by=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def close(
        self, scope: Scope, item_id: int, state: ReviewState, decision: str, note: str | None
    ) -> bool:
        """Resolve or dismiss an item that is open or held by this user; atomic."""
        result = await self._session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.id == item_id,
                in_scope(scope),
                or_(
                    ReviewItem.state == ReviewState.OPEN,
                    and_(
                        ReviewItem.state == ReviewState.CLAIMED,
                        ReviewItem.claimed_by == scope.user_id,
                    ),
                ),
            )
            .values(
                state=state,
                claimed_by=scope.user_id,
                decided_by=scope.user_id,
                decided_at=datetime.now(UTC),
                decision=decision,
                decision_note=note[:500] if note else None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def add_note(self, scope: Scope, item_id: int, text: str) -> None:
        self._session.add(
            Note(item_id=item_id, user_id=scope.user_id, text=text, created_at=datetime.now(UTC))
        )
        await self._session.flush()

    async def release_untouched(
        self, scope: Scope, before: datetime, now: datetime, item_id: int | None = None
    ) -> list[int]:
        """Release the scope's claims (or one item's) last touched before `before`, each
        audited as `auto_release` naming its holder; the ids released."""
        conditions = [
            in_scope(scope),
            ReviewItem.state == ReviewState.CLAIMED,
            ReviewItem.touched_at < before,
        ]
        if item_id is not None:
            conditions.append(ReviewItem.id == item_id)
        released = list(
            await self._session.execute(
                update(ReviewItem)
                .where(*conditions)
                .values(
                    state=ReviewState.OPEN,
                    claimed_by=None,
                    claimed_at=None,
                    assigned_by=None,
                    released_at=now,
                )
                .returning(ReviewItem.id, ReviewItem.service_id)
                .execution_options(synchronize_session=False)
            )
        )
        for released_id, service_id in released:
            await Audit(self._session).record(
                "auto_release",
                service_id=service_id,
                item_id=released_id,
                detail=f"claim not touched since {before.isoformat(timespec='seconds')}",
            )
        return [released_id for released_id, _ in released]

    async def touch(self, item_id: int, holder: int, now: datetime) -> None:
        """Note that the holder worked on their claimed item now (it keeps the claim)."""
        await self._session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.id == item_id,
                ReviewItem.state == ReviewState.CLAIMED,
                ReviewItem.claimed_by == holder,
            )
            .values(touched_at=now)
            .execution_options(synchronize_session=False)
        )

    async def assign(
        self, scope: Scope, item_id: int, assignee: int, state: str, holder: int | None
    ) -> bool:
        """Make `assignee` the holder of an item still in `state` held by `holder`; atomic."""
        now = datetime.now(UTC)
        result = await self._session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.id == item_id,
                in_scope(scope),
                ReviewItem.state == state,
                ReviewItem.claimed_by.is_(None)
                if holder is None
                else ReviewItem.claimed_by == holder,
            )
            .values(
                state=ReviewState.CLAIMED,
                claimed_by=assignee,
                claimed_at=now,
                touched_at=now,
                released_at=None,
                assigned_by=scope.user_id,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def members(self, services: Sequence[str]) -> list[tuple[int, str, str]]:
        """(user id, email, service id) of each active caseworker and service admin of
        `services`, by email: the colleagues an item may be assigned to."""
        rows = await self._session.execute(
            select(User.id, User.email, Membership.service_id)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.service_id.in_(services),
                Membership.role.in_(("caseworker", "service_admin")),
                User.disabled_at.is_(None),
                User.password_hash != REMOVED_HASH,
            )
            .order_by(User.email, Membership.service_id)
        )
        return [(int(user_id), str(email), str(service)) for user_id, email, service in rows]
