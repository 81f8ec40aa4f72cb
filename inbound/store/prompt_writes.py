"""Prompts written: a batch stored or revised in one statement per slice (issue 15).

Sending a prompt again revises the stored one with the same (service, reference, recipient),
never adds a second: one INSERT … ON CONFLICT … DO UPDATE, so two clients sending the same
prompt at once both succeed and leave one row. It runs in the caller's transaction, so a batch
commits whole or not at all with it.

Written with Core, not ORM objects: for 10,000 prompts, building and tracking a `PromptRow` each
(and SQLAlchemy's per-value bind processing) cost several times the database's own work. On
PostgreSQL the batch goes as one array per column (`unnest`), so a slice is one statement with
ten parameters; SQLite takes the rows as a parameter list (multi-row VALUES).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Table, case, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.prompts.model import Answer, Prompt, PromptState
from inbound.rules.model import Action
from inbound.store.models import Base, PromptRow
from inbound.store.prompts import StoredPrompt

_TABLE: Table = Base.metadata.tables[PromptRow.__tablename__]
# Prompts a statement on PostgreSQL: an API batch (10,000) is one; bounded so a CSV of a million
# is not one array of a million.
SLICE = 10_000
# One slice: the prompts as arrays, one a column, inserted or revised. A revised prompt that
# was answered stays answered, with its answer; open or withdrawn becomes open again
# (`inbound.prompts.model.revise`; the states are `PromptState`'s values). `always` false:
# only where the stored copy was sent before this one (`store_later`).
_POSTGRESQL = text(
    """
    INSERT INTO prompts (service_id, recipient, reference, expects, sent_at, expires_at, text,
                         state, created_at, updated_at)
    SELECT fresh.service_id, fresh.recipient, fresh.reference, CAST(fresh.expects AS json),
           fresh.sent_at, fresh.expires_at, fresh.text, 'open', :now, :now
    FROM unnest(CAST(:services AS text[]), CAST(:recipients AS text[]),
                CAST(:refs AS text[]), CAST(:expects AS text[]),
                CAST(:sent AS timestamptz[]), CAST(:expires AS timestamptz[]),
                CAST(:texts AS text[]))
         AS fresh(service_id, recipient, reference, expects, sent_at, expires_at, text)
    ON CONFLICT (service_id, reference, recipient) DO UPDATE SET
        expects = excluded.expects, sent_at = excluded.sent_at,
        expires_at = excluded.expires_at, text = excluded.text,
        state = CASE WHEN prompts.state = 'answered' THEN prompts.state ELSE 'open' END,
        updated_at = excluded.updated_at
    WHERE :always OR prompts.sent_at < excluded.sent_at
    RETURNING id, service_id, reference, recipient, state, answer_action, answered_at,
              answer_message_id, updated_at
    """
)


async def store(
    session: AsyncSession, prompts: Sequence[Prompt], now: datetime | None = None
) -> list[StoredPrompt]:
    """Store each prompt, or revise the one with the same (service, reference, recipient);
    the stored prompts, in the order given. A prompt sent twice in one batch is stored once:
    the later copy wins, as if it had been sent after.

    Revising follows `inbound.prompts.model.revise`: an answered prompt keeps its answer
    (reopening it would let a second reply act again); a withdrawn one is asked afresh.
    """
    keys = [prompt.key for prompt in prompts]
    latest: dict[tuple[str, str, str], Prompt] = {}
    for key, prompt in zip(keys, prompts, strict=True):
        latest.pop(key, None)  # re-inserted last: dicts keep insertion order
        latest[key] = prompt
    if not latest:
        return []
    stored = await _write(session, latest, now or datetime.now(UTC), only_later=False)
    return [stored[key] for key in keys]


async def store_later(
    session: AsyncSession, prompt: Prompt, now: datetime | None = None
) -> StoredPrompt | None:
    """Store a prompt, or revise the stored one with the same key, only if that one was sent
    before it; None when a copy sent as late or later is already stored.

    For prompts made from delivery receipts (`inbound.prompts.notify_receipt`): the same
    receipt posted again changes nothing (a withdrawn prompt stays withdrawn), a later reminder
    with the same reference revises the prompt as `store` does, and a receipt that arrives
    after a later one's is not allowed to wind the prompt back.
    """
    stored = await _write(session, {prompt.key: prompt}, now or datetime.now(UTC), only_later=True)
    return stored.get(prompt.key)


async def _write(
    session: AsyncSession,
    prompts: dict[tuple[str, str, str], Prompt],
    now: datetime,
    *,
    only_later: bool,
) -> dict[tuple[str, str, str], StoredPrompt]:
    """Each prompt (one per key) inserted or revised; what was written, by key."""
    given = list(prompts.values())
    rows: list[Row[Any]] = []
    if session.get_bind().dialect.name == "postgresql":
        for start in range(0, len(given), SLICE):
            rows += await _postgresql(session, given[start : start + SLICE], now, only_later)
    else:
        rows += await _sqlite(session, given, now, only_later)
    _expire_loaded(session)
    stored = {}
    for row in rows:
        key = (row.service_id, row.recipient, row.reference)
        stored[key] = _stored(prompts[key], row)
    return stored


async def _postgresql(
    session: AsyncSession, prompts: Sequence[Prompt], now: datetime, only_later: bool
) -> Sequence[Row[Any]]:
    expects: dict[frozenset[Action], str] = {}  # a batch has a few distinct sets
    for p in prompts:
        if p.expects not in expects:
            expects[p.expects] = json.dumps(sorted(p.expects))
    result = await session.execute(
        _POSTGRESQL,
        {
            "now": now,
            "always": not only_later,
            "services": [p.service for p in prompts],
            "recipients": [p.recipient for p in prompts],
            "refs": [p.reference for p in prompts],
            "expects": [expects[p.expects] for p in prompts],
            "sent": [p.sent_at for p in prompts],
            "expires": [p.expires_at for p in prompts],
            "texts": [p.text for p in prompts],
        },
    )
    return result.all()


async def _sqlite(
    session: AsyncSession, prompts: Sequence[Prompt], now: datetime, only_later: bool
) -> Sequence[Row[Any]]:
    columns = _TABLE.c
    insert = sqlite.insert(_TABLE)
    fresh = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=["service_id", "reference", "recipient"],
        set_={
            "expects": fresh.expects,
            "sent_at": fresh.sent_at,
            "expires_at": fresh.expires_at,
            "text": fresh.text,
            "state": case(
                (columns.state == PromptState.ANSWERED.value, columns.state),
                else_=PromptState.OPEN.value,
            ),
            "updated_at": fresh.updated_at,
        },
        where=columns.sent_at < fresh.sent_at if only_later else None,
    ).returning(
        columns.id,
        columns.service_id,
        columns.reference,
        columns.recipient,
        columns.state,
        columns.answer_action,
        columns.answered_at,
        columns.answer_message_id,
        columns.updated_at,
    )
    values = [
        {
            "service_id": p.service,
            "recipient": p.recipient,
            "reference": p.reference,
            "expects": sorted(p.expects),
            "sent_at": p.sent_at,
            "expires_at": p.expires_at,
            "text": p.text,
            "state": PromptState.OPEN.value,
            "created_at": now,
            "updated_at": now,
        }
        for p in prompts
    ]
    # A parameter list: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues"), with
    # RETURNING for each row.
    result = await session.execute(statement, values)
    return result.all()


def _stored(sent: Prompt, row: Row[Any]) -> StoredPrompt:
    """The prompt as written: what was sent, with the answer a revised prompt kept."""
    prompt = sent
    if row.state == PromptState.ANSWERED.value:
        answer = Answer(Action(row.answer_action), row.answered_at)
        prompt = replace(sent, state=PromptState.ANSWERED, answer=answer)
    return StoredPrompt(row.id, prompt, row.answer_message_id, row.updated_at)


def _expire_loaded(session: AsyncSession) -> None:
    """Prompt rows this session loaded before are out of date now (Core wrote past them):
    expired, the next query that meets them reads them again."""
    for loaded in list(session.sync_session.identity_map.values()):
        if isinstance(loaded, PromptRow):
            session.expire(loaded)
