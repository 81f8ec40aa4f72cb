"""Prompts in the database: withdrawn, answered, listed (issue 15); stored and revised by
`inbound.store.prompt_writes`.

The rows are `PromptRow`; everything handed out is the pure `inbound.prompts.model.Prompt`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Row,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.prompts.matching import Transition
from inbound.prompts.model import Answer, Prompt, PromptState
from inbound.rules.model import Action
from inbound.store.models import Base, PromptRow


@dataclass(frozen=True)
class StoredPrompt:
    """A prompt with its row id, and which message answered it."""

    id: int
    prompt: Prompt
    answer_message_id: int | None
    updated_at: datetime


_TABLE: Table = Base.metadata.tables[PromptRow.__tablename__]
# A prompt's answer, stored only if the prompt is still as the decision saw it (Core, so an
# executemany of it is one prepared statement).
_ANSWER = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("prompt_id"),
        _TABLE.c.state == bindparam("before_state"),
        func.coalesce(_TABLE.c.answer_action, "") == bindparam("before_action"),
    )
    .values(
        state=PromptState.ANSWERED.value,
        answer_action=bindparam("action"),
        answered_at=bindparam("at", type_=_TABLE.c.answered_at.type),
        answer_message_id=bindparam("message_id"),
        updated_at=bindparam("now", type_=_TABLE.c.updated_at.type),
    )
)


# PostgreSQL: a batch's answers as one statement whose text is the same for any number of them
# (the values are arrays), so it is compiled and prepared once. A VALUES list of the answers
# was compiled afresh for every batch: 10-25 ms of a 128-reply batch, most of what prompts
# added to it (cProfile of process_batch on 1,000,000 prompts).
_ANSWER_ALL = text(
    """
    UPDATE prompts
    SET state = 'answered', answer_action = a.action, answered_at = a.at,
        answer_message_id = a.message_id, updated_at = :now
    FROM unnest(
        CAST(:ids AS integer[]), CAST(:before_states AS varchar[]),
        CAST(:before_actions AS varchar[]), CAST(:actions AS varchar[]),
        CAST(:ats AS timestamptz[]), CAST(:message_ids AS integer[])
    ) AS a (prompt_id, before_state, before_action, action, at, message_id)
    WHERE prompts.id = a.prompt_id
      AND prompts.state = a.before_state
      AND coalesce(prompts.answer_action, '') = a.before_action
    RETURNING prompts.id
    """
).bindparams(
    bindparam("ids", type_=postgresql.ARRAY(Integer)),
    bindparam("before_states", type_=postgresql.ARRAY(String)),
    bindparam("before_actions", type_=postgresql.ARRAY(String)),
    bindparam("actions", type_=postgresql.ARRAY(String)),
    bindparam("ats", type_=postgresql.ARRAY(DateTime(timezone=True))),
    bindparam("message_ids", type_=postgresql.ARRAY(Integer)),
    bindparam("now", type_=_TABLE.c.updated_at.type),
)

# A prompt's columns, read as plain rows where many are loaded at once: building ORM objects
# (identity map, change tracking) for rows only read cost more than the query itself. Named in
# the order `_from_columns` unpacks them.
_COLUMNS = tuple(
    _TABLE.c[name]
    for name in (
        "id",
        "service_id",
        "recipient",
        "reference",
        "expects",
        "sent_at",
        "expires_at",
        "text",
        "state",
        "answer_action",
        "answered_at",
        "answer_message_id",
        "updated_at",
    )
)


# What a stored prompt's `expects` and `state` read as. Most prompts share a few of each, and a
# worker builds a prompt for every reply's lookup: the enum calls were a fifth of building one.
_STATES = {state.value: state for state in PromptState}


@functools.lru_cache(maxsize=256)
def _expects(names: tuple[str, ...]) -> frozenset[Action]:
    return frozenset(Action(name) for name in names)


def _prompt(row: PromptRow | Row[Any]) -> Prompt:
    return _stored(row).prompt


def _stored(row: PromptRow | Row[Any]) -> StoredPrompt:
    return _from_columns([getattr(row, column.name) for column in _COLUMNS])


def _from_columns(row: Sequence[Any]) -> StoredPrompt:
    """A stored prompt from the values of `_COLUMNS`, in their order. A worker's lookup hands
    its rows straight in: reading a Row's thirteen columns by name took 10 µs, unpacking it
    under 1 (a worker reads a prompt a reply)."""
    (
        id_,
        service,
        recipient,
        reference,
        expects,
        sent_at,
        expires_at,
        text_,
        state_name,
        answer_action,
        answered_at,
        answer_message_id,
        updated_at,
    ) = row
    answer = None
    state = _STATES[state_name]
    if state is PromptState.ANSWERED and answer_action and answered_at:
        answer = Answer(Action(answer_action), answered_at)
    prompt = Prompt.loaded(
        service=service,
        recipient=recipient,
        reference=reference,
        expects=_expects(tuple(expects)),
        sent_at=sent_at,
        expires_at=expires_at,
        text=text_,
        state=state,
        answer=answer,
    )
    return StoredPrompt(id_, prompt, answer_message_id, updated_at)


class Prompts:
    """Repository for prompts. Runs in the caller's transaction: a batch commits whole or not
    at all with it."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def withdraw(
        self, service: str, reference: str, recipient: str, now: datetime | None = None
    ) -> StoredPrompt | None:
        """Take a prompt back (no reply answers it any more); None when there is no such one.
        Withdrawing a withdrawn prompt changes nothing."""
        row = await self._row(service, reference, recipient)
        if row is None:
            return None
        if row.state != PromptState.WITHDRAWN:
            withdrawn = _prompt(row).withdrawn()
            row.state = withdrawn.state.value
            row.answer_action = None
            row.answered_at = None
            row.answer_message_id = None
            row.updated_at = now or datetime.now(UTC)
            await self._session.flush()
        return _stored(row)

    async def for_number(
        self,
        service: str,
        number: str,
        states: Iterable[PromptState] = (PromptState.OPEN, PromptState.ANSWERED),
    ) -> list[Prompt]:
        """The prompts the service sent to a number, in the given states (by default those a
        reply can still concern: open and answered), oldest first."""
        rows = await self._session.scalars(
            select(PromptRow)
            .where(
                PromptRow.service_id == service,
                PromptRow.recipient == number,
                PromptRow.state.in_([state.value for state in states]),
            )
            .order_by(PromptRow.sent_at, PromptRow.id)
        )
        return [_prompt(row) for row in rows]

    async def for_senders(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[StoredPrompt]]:
        """The open and answered prompts of many (service, number) pairs, oldest first: what
        the replies of a batch may answer. Pairs with none are left out."""
        numbers: dict[str, set[str]] = {}
        for service, number in pairs:
            numbers.setdefault(service, set()).add(number)
        found: dict[tuple[str, str], list[StoredPrompt]] = {}
        live = [PromptState.OPEN.value, PromptState.ANSWERED.value]
        # One query per service (a batch is mostly one service's): "service = s AND recipient
        # IN (...)" is one index range scan per number, where a row-value IN over (service,
        # recipient) pairs was planned as an OR of scans, 4x slower on PostgreSQL. Slices keep
        # the parameters well under SQLite's limit.
        for service, wanted in numbers.items():
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 1000):
                rows = await self._session.execute(
                    select(*_COLUMNS)
                    .where(
                        _TABLE.c.service_id == service,
                        _TABLE.c.recipient.in_(ordered[start : start + 1000]),
                        _TABLE.c.state.in_(live),
                    )
                    .order_by(_TABLE.c.sent_at, _TABLE.c.id)
                )
                for row in rows:
                    stored = _from_columns(row)
                    found.setdefault((service, stored.prompt.recipient), []).append(stored)
        return found

    async def open_for(self, service: str, number: str) -> list[Prompt]:
        """The open prompts the service sent to a number (expired ones included: expiry is a
        fact about the reply's time, decided by the matcher)."""
        return await self.for_number(service, number, (PromptState.OPEN,))

    async def record_answer(
        self, transition: Transition, message_id: int, now: datetime | None = None
    ) -> bool:
        """Store a prompt's answer, only if the prompt is still as the decision saw it; False
        when another reply changed it first (the caller decides again)."""
        before, after = transition.before, transition.after
        if after.answer is None:
            raise ValueError("record_answer() needs a transition to an answered prompt")
        condition = [
            PromptRow.service_id == before.service,
            PromptRow.reference == before.reference,
            PromptRow.recipient == before.recipient,
            PromptRow.state == before.state.value,
        ]
        if before.answer is not None:
            condition.append(PromptRow.answer_action == before.answer.action.value)
        result = await self._session.execute(
            update(PromptRow)
            .where(*condition)
            .values(
                state=after.state.value,
                answer_action=after.answer.action.value,
                answered_at=after.answer.at,
                answer_message_id=message_id,
                updated_at=now or datetime.now(UTC),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def record_answers(
        self, answers: Sequence[tuple[int, Transition, int]], now: datetime | None = None
    ) -> bool:
        """Store many prompts' answers, given as (prompt id, transition, answering message id),
        each only if its prompt is still as the decision saw it; False when any was changed by
        another reply first (the caller rolls back and decides again)."""
        if not answers:
            return True
        when = now or datetime.now(UTC)
        rows = []
        for prompt_id, transition, message_id in answers:
            before, after = transition.before, transition.after
            if after.answer is None:
                raise ValueError("record_answers() needs transitions to answered prompts")
            rows.append(
                {
                    "prompt_id": prompt_id,
                    "before_state": before.state.value,
                    "before_action": before.answer.action.value if before.answer else "",
                    "action": after.answer.action.value,
                    "at": after.answer.at,
                    "message_id": message_id,
                    "now": when,
                }
            )
        if self._session.get_bind().dialect.name == "postgresql":
            return await self._answer_all(rows)
        # One statement, compiled once and sent for all rows (executemany); the message ids
        # are this transaction's own, so a prompt that now names its message was changed by it.
        await self._session.execute(_ANSWER, rows)
        wanted = {row["prompt_id"]: row["message_id"] for row in rows}
        found = await self._session.execute(
            select(PromptRow.id, PromptRow.answer_message_id).where(PromptRow.id.in_(list(wanted)))
        )
        return {row.id: row.answer_message_id for row in found} == wanted

    async def _answer_all(self, rows: Sequence[dict[str, Any]]) -> bool:
        """PostgreSQL: all the answers in one UPDATE ... FROM unnest(arrays) RETURNING, which
        says itself which prompts it changed."""
        # A prompt answered twice in one batch ("yes", then "cancel" where changes are allowed)
        # is one change here, from what the first reply saw to what the last one left: a join
        # updates each row once, so the second pair would be lost.
        merged: dict[int, dict[str, Any]] = {}
        for row in rows:
            first = merged.get(row["prompt_id"])
            merged[row["prompt_id"]] = (
                row
                if first is None
                else {
                    **row,
                    "before_state": first["before_state"],
                    "before_action": first["before_action"],
                }
            )
        answers = list(merged.values())
        changed = await self._session.execute(
            _ANSWER_ALL,
            {
                "ids": [r["prompt_id"] for r in answers],
                "before_states": [r["before_state"] for r in answers],
                "before_actions": [r["before_action"] for r in answers],
                "actions": [r["action"] for r in answers],
                "ats": [r["at"].astimezone(UTC) for r in answers],
                "message_ids": [r["message_id"] for r in answers],
                "now": rows[0]["now"],
            },
        )
        return set(changed.scalars()) == set(merged)

    async def listing(
        self, service: str, *, open_only: bool = False, limit: int | None = None
    ) -> list[StoredPrompt]:
        """A service's prompts, oldest sent first; only the open ones with `open_only`."""
        query = select(PromptRow).where(PromptRow.service_id == service)
        if open_only:
            query = query.where(PromptRow.state == PromptState.OPEN.value)
        query = query.order_by(PromptRow.sent_at, PromptRow.id)
        if limit is not None:
            query = query.limit(limit)
        return [_stored(row) for row in await self._session.scalars(query)]

    async def by_id(self, prompt_id: int) -> StoredPrompt | None:
        """The prompt with this row id, or None (never stored, or purged)."""
        row = await self._session.get(PromptRow, prompt_id, populate_existing=True)
        return None if row is None else _stored(row)

    async def _row(self, service: str, reference: str, recipient: str) -> PromptRow | None:
        row: PromptRow | None = await self._session.scalar(
            select(PromptRow).where(
                PromptRow.service_id == service,
                PromptRow.reference == reference,
                PromptRow.recipient == recipient,
            )
        )
        return row
