"""Purging message content after each service's retention: the text, what was captured from
it, and finished actions' payloads. Ids, outcomes' actions and rules, and opt-outs stay.

Age is counted from when inbound accepted a message (`accepted_at`), never from the time the
provider states (`received_at`): a provider's clock, or a forged field, saying 2099 must not keep
a message's text for ever, nor one saying 2001 purge it on arrival.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, CursorResult, Select, Text, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.states import FINISHED_ACTION_STATES
from inbound.store.models import Action, Message, MessagePart, Outcome

DEFAULT_RETENTION_DAYS = 7
# Pending actions still need their payload to be delivered; only these are done with it.
# What a purged JSON column holds. Compared as text (PostgreSQL's `json` has no `=`), which
# matches because SQLAlchemy writes an empty object as exactly this.
EMPTY = "{}"


@dataclass(frozen=True)
class Purged:
    """What one purge cleared."""

    messages: int  # texts
    parts: int  # stray multipart parts' texts
    outcomes: int  # captures (e.g. `details` quotes the text)
    actions: int  # finished callbacks' events and replies' texts
    nonces: int = 0  # webhook nonces past store.nonces.KEEP


async def purge_content(
    session: AsyncSession,
    retention_days: Mapping[str, int],
    now: datetime,
    default_days: int = DEFAULT_RETENTION_DAYS,
) -> Purged:
    """Clear the content of messages older than their service's retention (`default_days` for
    messages no known service owns): their text, their outcome's captures and their finished
    actions' payloads; and the text of stray multipart parts older than the default."""
    expired = [
        (Message.service_id == service_id, Message.accepted_at < now - timedelta(days=days))
        for service_id, days in retention_days.items()
    ]
    expired.append(
        (
            or_(Message.service_id.is_(None), Message.service_id.not_in(list(retention_days))),
            Message.accepted_at < now - timedelta(days=default_days),
        )
    )
    messages = outcomes = actions = 0
    for conditions in expired:
        messages += await _clear_texts(session, *conditions)
        ids = select(Message.id).where(*conditions)
        outcomes += await _clear_captures(session, ids)
        actions += await _clear_payloads(session, ids)
    parts: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(MessagePart)
        .where(
            MessagePart.text.is_not(None),
            MessagePart.accepted_at < now - timedelta(days=default_days),
        )
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    return Purged(messages, parts.rowcount or 0, outcomes, actions)


async def _clear_texts(session: AsyncSession, *conditions: ColumnElement[bool]) -> int:
    result: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(Message)
        .where(Message.text.is_not(None), *conditions)
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def _clear_captures(session: AsyncSession, messages: Select[int]) -> int:
    result: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(Outcome)
        .where(Outcome.message_id.in_(messages), cast(Outcome.captures, Text) != EMPTY)
        .values(captures={})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def _clear_payloads(session: AsyncSession, messages: Select[int]) -> int:
    # A callback's payload holds the event (captures, sender); a reply's, the text sent.
    result: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
        update(Action)
        .where(
            Action.message_id.in_(messages),
            Action.state.in_(FINISHED_ACTION_STATES),
            cast(Action.payload, Text) != EMPTY,
        )
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
