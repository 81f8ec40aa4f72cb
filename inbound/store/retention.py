"""Purging message content after each service's retention: the text, what was captured from
it, and finished actions' payloads. Ids, outcomes' actions and rules, and opt-outs stay.
Prompts (what a service asked) lose their text on the same schedule, counted from when they were
sent, and the rows go once they are done with (answered, withdrawn or expired) and that old.

Age is counted from when inbound accepted a message (`accepted_at`), never from the time the
provider states (`received_at`): a provider's clock, or a forged field, saying 2099 must not keep
a message's text for ever, nor one saying 2001 purge it on arrival.

Content is cleared a batch of rows at a time, each batch in its own short transaction chosen
by id after the previous one (so a large old database never holds one long transaction, and no
batch reads again what the one before cleared). Nothing here deletes a row that another refers
to: messages, outcomes, actions and parts are updated in place, and webhook nonces and finished
prompts, the only rows deleted, are referred to by none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Delete,
    Select,
    Text,
    Update,
    and_,
    cast,
    delete,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from inbound.prompts.model import PromptState
from inbound.states import FINISHED_ACTION_STATES
from inbound.store.models import (
    Action,
    Message,
    MessagePart,
    Outcome,
    PromptRow,
    WebhookNonce,
)

DEFAULT_RETENTION_DAYS = 7
# Pending actions still need their payload to be delivered; only these are done with it.
# What a purged JSON column holds. Compared as text (PostgreSQL's `json` has no `=`), which
# matches because SQLAlchemy writes an empty object as exactly this.
EMPTY = "{}"
# Rows one transaction clears: short enough that a purge never holds locks or a snapshot for
# long, large enough that a big first purge is not mostly commits.
BATCH_SIZE = 1000
# PostgreSQL advisory lock key (one per database): held by the one process purging.
PURGE_LOCK_KEY = "inbound:purge"


@dataclass(frozen=True)
class Purged:
    """What one purge cleared (so far, while it runs)."""

    messages: int = 0  # texts
    parts: int = 0  # stray multipart parts' texts
    outcomes: int = 0  # captures (e.g. `details` quotes the text)
    actions: int = 0  # finished callbacks' events and replies' texts
    nonces: int = 0  # webhook nonces past store.nonces.KEEP
    prompt_texts: int = 0  # prompts' copies of the text sent
    prompts: int = 0  # prompts done with (answered, withdrawn or expired) past retention
    batches: int = 0  # transactions that cleared something
    skipped: bool = False  # another process was purging: this one did nothing


@dataclass(frozen=True)
class Cleared:
    """One batch: how many rows changed, and the id to continue after (None: nothing left)."""

    count: int
    last: int | None


def expired(
    retention_days: Mapping[str, int], now: datetime, default_days: int = DEFAULT_RETENTION_DAYS
) -> ColumnElement[bool]:
    """Messages older than their service's retention (`default_days` for messages no known
    service owns), as a condition on `messages`."""
    return _older(Message.service_id, Message.accepted_at, retention_days, now, default_days)


def expired_prompts(
    retention_days: Mapping[str, int], now: datetime, default_days: int = DEFAULT_RETENTION_DAYS
) -> ColumnElement[bool]:
    """Prompts sent longer ago than their service's retention, as a condition on `prompts`."""
    return _older(PromptRow.service_id, PromptRow.sent_at, retention_days, now, default_days)


def _older(
    service: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    when: InstrumentedAttribute[datetime],
    retention_days: Mapping[str, int],
    now: datetime,
    default_days: int,
) -> ColumnElement[bool]:
    owned = [
        and_(service == service_id, when < now - timedelta(days=days))
        for service_id, days in retention_days.items()
    ]
    unowned = and_(
        or_(service.is_(None), service.not_in(list(retention_days))),
        when < now - timedelta(days=default_days),
    )
    return or_(*owned, unowned)


async def clear_texts(
    session: AsyncSession, past: ColumnElement[bool], after: int, limit: int
) -> Cleared:
    """Clear the text of the next `limit` expired messages with id above `after`."""
    found = select(Message.id).where(past, Message.text.is_not(None))
    return await _apply(session, found, Message.id, after, limit, update(Message).values(text=None))


async def clear_captures(
    session: AsyncSession, past: ColumnElement[bool], after: int, limit: int
) -> Cleared:
    """Clear the captures of the next `limit` outcomes of expired messages (by outcome id)."""
    found = (
        select(Outcome.id)
        .join(Message, Message.id == Outcome.message_id)
        .where(past, cast(Outcome.captures, Text) != EMPTY)
    )
    return await _apply(
        session, found, Outcome.id, after, limit, update(Outcome).values(captures={})
    )


async def clear_payloads(
    session: AsyncSession, past: ColumnElement[bool], after: int, limit: int
) -> Cleared:
    """Clear the payloads of the next `limit` finished actions of expired messages: a
    callback's holds the event (captures, sender); a reply's, the text sent."""
    found = (
        select(Action.id)
        .join(Message, Message.id == Action.message_id)
        .where(
            past,
            Action.state.in_(FINISHED_ACTION_STATES),
            cast(Action.payload, Text) != EMPTY,
        )
    )
    return await _apply(session, found, Action.id, after, limit, update(Action).values(payload={}))


async def clear_parts(session: AsyncSession, before: datetime, after: int, limit: int) -> Cleared:
    """Clear the text of the next `limit` stray multipart parts accepted before `before`."""
    found = select(MessagePart.id).where(
        MessagePart.text.is_not(None), MessagePart.accepted_at < before
    )
    return await _apply(
        session, found, MessagePart.id, after, limit, update(MessagePart).values(text=None)
    )


async def clear_prompt_texts(
    session: AsyncSession, past: ColumnElement[bool], after: int, limit: int
) -> Cleared:
    """Clear the copy of the text sent of the next `limit` prompts past retention."""
    found = select(PromptRow.id).where(past, PromptRow.text.is_not(None))
    return await _apply(
        session, found, PromptRow.id, after, limit, update(PromptRow).values(text=None)
    )


async def forget_prompts(
    session: AsyncSession, past: ColumnElement[bool], now: datetime, after: int, limit: int
) -> Cleared:
    """Delete the next `limit` prompts past retention that are done with: answered, withdrawn,
    or expired (an open one still inside its expiry stays, however long ago it was sent)."""
    done = or_(PromptRow.state != PromptState.OPEN.value, PromptRow.expires_at < now)
    found = select(PromptRow.id).where(past, done)
    return await _apply(session, found, PromptRow.id, after, limit, delete(PromptRow))


async def forget_nonces(session: AsyncSession, before: datetime, after: int, limit: int) -> Cleared:
    """Delete the next `limit` webhook nonces first seen before `before`."""
    found = select(WebhookNonce.id).where(WebhookNonce.seen_at < before)
    return await _apply(session, found, WebhookNonce.id, after, limit, delete(WebhookNonce))


@asynccontextmanager
async def purge_lock(engine: AsyncEngine) -> AsyncIterator[bool]:
    """Hold the database's purge lock for the block; yields False when another process holds it.

    PostgreSQL: a session-level advisory lock, taken and released on one connection kept for the
    whole purge (the batches commit on others, which releases nothing). SQLite has one writer at
    a time already, and every batch is a short write; two purges there simply take turns, so
    there is nothing to lock.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with engine.connect() as connection:
        held = bool(
            await connection.scalar(
                text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": PURGE_LOCK_KEY}
            )
        )
        await connection.commit()  # no transaction left open while the purge runs
        try:
            yield held
        finally:
            if held:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": PURGE_LOCK_KEY}
                )
                await connection.commit()


async def _apply(
    session: AsyncSession,
    found: Select[int],
    key: InstrumentedAttribute[int],
    after: int,
    limit: int,
    statement: Update | Delete,
) -> Cleared:
    """Apply `statement` to the next `limit` rows `found` selects, by `key` above `after`."""
    # The ids first, then the change by id: PostgreSQL plans `id IN (SELECT … LIMIT n)` as a
    # scan of the whole table each batch, and a list of ids as a primary-key lookup.
    batch = found.where(key > after).order_by(key).limit(limit)
    ids = (await session.scalars(batch)).all()
    if not ids:
        return Cleared(0, None)
    result: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        statement.where(key.in_(ids)).execution_options(synchronize_session=False)
    )
    return Cleared(result.rowcount or 0, ids[-1])
