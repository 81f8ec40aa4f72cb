"""Queries and writes for messages, outcomes and review items, on one session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.message import InboundMessage
from inbound.states import ReviewState
from inbound.store.models import Base, Message, Outcome, PromptRow, ReviewItem


@dataclass(frozen=True)
class NewMessage:
    """A message to store, where it ended, and the prompt it was matched to (if any)."""

    message: InboundMessage
    service_id: str | None
    status: str
    prompt_id: int | None = None
    prompt_match: str | None = None  # how the reply was matched to its prompts, in words


@dataclass(frozen=True)
class MessageTrace:
    """Where one stored message went."""

    message: Message
    outcome: Outcome | None
    review: ReviewItem | None
    prompt: PromptRow | None = None  # the prompt it answered or most likely relates to


class Messages:
    """Repository for everything keyed on a stored message."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def exists(self, provider: str, provider_message_id: str) -> bool:
        """True when this provider's message id is already stored."""
        found = await self._session.scalar(
            select(Message.id).where(
                Message.provider == provider, Message.provider_message_id == provider_message_id
            )
        )
        return found is not None

    async def add(
        self,
        message: InboundMessage,
        service_id: str | None,
        status: str,
        prompt_id: int | None = None,
        prompt_match: str | None = None,
    ) -> Message:
        """Store a message (the unique constraint guards against a concurrent duplicate)."""
        row = Message(
            provider=message.provider,
            provider_message_id=message.provider_message_id,
            sender=message.sender,
            recipient=message.recipient,
            text=message.text,
            service_id=service_id,
            status=status,
            received_at=message.received_at,
            accepted_at=message.accepted_at,
            stored_at=datetime.now(UTC),
            prompt_id=prompt_id,
            prompt_match=prompt_match,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def add_new(self, messages: Sequence[NewMessage]) -> dict[tuple[str, str], Message]:
        """Store many messages in one statement, skipping those already stored; return the new
        rows by (provider, provider message id).

        The rows returned are detached copies: enough for ids and for planning side effects.
        """
        if not messages:
            return {}
        now = datetime.now(UTC)
        values: list[dict[str, Any]] = [
            {
                "provider": new.message.provider,
                "provider_message_id": new.message.provider_message_id,
                "sender": new.message.sender,
                "recipient": new.message.recipient,
                "text": new.message.text,
                "service_id": new.service_id,
                "status": new.status,
                "received_at": new.message.received_at,
                "accepted_at": new.message.accepted_at,
                "stored_at": now,
                "prompt_id": new.prompt_id,
                "prompt_match": new.prompt_match,
            }
            for new in messages
        ]
        # One statement with the rows as parameters (executemany): compiled once and cached,
        # sent as a single multi-row INSERT … RETURNING by SQLAlchemy's "insertmanyvalues".
        returning = (Message.id, Message.provider, Message.provider_message_id)
        statement = self._insert_skipping_duplicates().returning(*returning)
        stored = {}
        by_key = {(v["provider"], v["provider_message_id"]): v for v in values}
        for row in await self._session.execute(statement, values):
            key = (row.provider, row.provider_message_id)
            stored[key] = Message(id=row.id, **by_key[key])
        return stored

    def _insert_skipping_duplicates(self) -> Insert:
        # ON CONFLICT DO NOTHING: a redelivered message in a batch must not fail the others.
        table = _table(Message)
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        raise NotImplementedError(f"no batch insert for {dialect}")

    async def add_decisions(
        self, outcomes: Sequence[dict[str, object]], reviews: Sequence[dict[str, object]]
    ) -> None:
        """Write many outcome and review rows (column values as dicts), one statement each."""
        now = datetime.now(UTC)
        if outcomes:
            await self._session.execute(
                insert(_table(Outcome)), [{**row, "created_at": now} for row in outcomes]
            )
        if reviews:
            await self._session.execute(
                insert(_table(ReviewItem)),
                [{**row, "state": ReviewState.OPEN, "created_at": now} for row in reviews],
            )

    async def add_outcome(
        self, message: Message, service_id: str, action: str, rule: str, captures: Mapping[str, str]
    ) -> Outcome:
        """Record the automatic action a rule took."""
        outcome = Outcome(
            message_id=message.id,
            service_id=service_id,
            action=action,
            rule=rule,
            captures=dict(captures),
            created_at=datetime.now(UTC),
        )
        self._session.add(outcome)
        await self._session.flush()
        return outcome

    async def open_review(
        self, message: Message, service_id: str | None, reason: str, rule: str | None
    ) -> ReviewItem:
        """Put a message in front of a person, saying why."""
        item = ReviewItem(
            message_id=message.id,
            service_id=service_id,
            reason=reason,
            rule=rule,
            state=ReviewState.OPEN,
            created_at=datetime.now(UTC),
            received_at=message.accepted_at,
        )
        self._session.add(item)
        await self._session.flush()
        return item

    async def flag_for_review(self, message_id: int, service_id: str | None, reason: str) -> None:
        """Put an already-decided message in front of a person (e.g. its callback failed).

        A message has at most one review item: a second reason is added to the open one.
        """
        item = await self._session.scalar(
            select(ReviewItem).where(ReviewItem.message_id == message_id).with_for_update()
        )
        if item is None:
            self._session.add(
                ReviewItem(
                    message_id=message_id,
                    service_id=service_id,
                    reason=reason[:500],
                    rule=None,
                    state=ReviewState.OPEN,
                    created_at=datetime.now(UTC),
                    received_at=select(Message.accepted_at)
                    .where(Message.id == message_id)
                    .scalar_subquery(),
                )
            )
        else:
            item.reason = f"{item.reason}; {reason}"[:500]
            item.state = ReviewState.OPEN
        await self._session.flush()


def _table(model: type[Base]) -> Table:
    # Core statements on the table itself skip the ORM's bulk-insert bookkeeping.
    return Base.metadata.tables[model.__tablename__]
