"""Loading one conversation (a service and a number) for `inbound.conversation.build`.

Bounded: at most `limit + 1` rows of each kind, newest first, so a number with years of
traffic costs the same as one with a week's. Each read uses an index: messages by
(service, sender, accepted_at) (migration 0010), prompts by (service, recipient), replies
by (kind, recipient, created_at), and outcomes and review items by their unique message id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.conversation import (
    THREAD_LIMIT,
    Conversation,
    DecisionFact,
    MessageFact,
    OutcomeFact,
    PromptFact,
    ReplyFact,
    build,
    user_ids,
)
from inbound.prompts.model import PromptState
from inbound.states import ActionKind
from inbound.store.models import Action, Message, Outcome, PromptRow, ReviewItem, User


def _prompt(row: PromptRow) -> PromptFact:
    return PromptFact(
        id=row.id,
        reference=row.reference,
        expects=tuple(row.expects),
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        text=row.text,
        state=row.state,
        answer_action=row.answer_action,
    )


class Conversations:
    """Reads one thread in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def thread(
        self,
        service_id: str | None,
        number: str,
        *,
        recipient: str,
        now: datetime,
        limit: int = THREAD_LIMIT,
    ) -> Conversation:
        """The conversation of `service_id` with `number`, its newest `limit` entries. With no
        service (a number no service owns), the messages `number` sent to `recipient`."""
        messages = await self._messages(service_id, number, recipient, limit + 1)
        truncated = len(messages) > limit
        prompts: list[PromptFact] = []
        open_prompts: list[PromptFact] = []
        replies: list[ReplyFact] = []
        if service_id is not None:
            prompts = await self._prompts(service_id, number, limit + 1)
            open_prompts = await self._open_prompts(service_id, number)
            replies = await self._replies(service_id, number, limit + 1)
            truncated = truncated or len(prompts) > limit or len(replies) > limit
            # A reply matched to a prompt older than those read still names its reference.
            known = {p.id for p in prompts} | {p.id for p in open_prompts}
            wanted = {m.prompt_id for m in messages if m.prompt_id is not None} - known
            if wanted:
                rows = await self._session.scalars(
                    select(PromptRow).where(
                        PromptRow.id.in_(wanted), PromptRow.service_id == service_id
                    )
                )
                referenced = [_prompt(row) for row in rows]
            else:
                referenced = []
        else:
            referenced = []
        ids = [m.id for m in messages]
        outcomes = await self._outcomes(ids)
        decisions = await self._decisions(ids)
        users = await self._emails(user_ids(replies, decisions))
        return build(
            prompts=prompts,
            messages=messages,
            replies=replies,
            outcomes=outcomes,
            decisions=decisions,
            open_prompts=open_prompts,
            referenced=referenced,
            users=users,
            now=now,
            limit=limit,
            truncated=truncated,
        )

    async def _messages(
        self, service_id: str | None, number: str, recipient: str, count: int
    ) -> list[MessageFact]:
        same_place: ColumnElement[bool] = (
            Message.service_id == service_id
            if service_id is not None
            else and_(Message.service_id.is_(None), Message.recipient == recipient)
        )
        rows = await self._session.execute(
            select(
                Message.id,
                Message.accepted_at,
                Message.received_at,
                Message.text,
                Message.prompt_id,
                Message.prompt_match,
                ReviewItem.id,
                ReviewItem.state,
            )
            .outerjoin(ReviewItem, ReviewItem.message_id == Message.id)
            .where(same_place, Message.sender == number)
            .order_by(Message.accepted_at.desc(), Message.id.desc())
            .limit(count)
        )
        return [MessageFact(*row) for row in rows]

    async def _prompts(self, service_id: str, number: str, count: int) -> list[PromptFact]:
        rows = await self._session.scalars(
            select(PromptRow)
            .where(PromptRow.service_id == service_id, PromptRow.recipient == number)
            .order_by(PromptRow.sent_at.desc(), PromptRow.id.desc())
            .limit(count)
        )
        return [_prompt(row) for row in rows]

    async def _open_prompts(self, service_id: str, number: str) -> list[PromptFact]:
        rows = await self._session.scalars(
            select(PromptRow).where(
                PromptRow.service_id == service_id,
                PromptRow.recipient == number,
                PromptRow.state == PromptState.OPEN.value,
            )
        )
        return [_prompt(row) for row in rows]

    async def _replies(self, service_id: str, number: str, count: int) -> list[ReplyFact]:
        rows = await self._session.scalars(
            select(Action)
            .where(
                Action.kind == ActionKind.REPLY,
                Action.recipient == number,
                Action.service_id == service_id,
            )
            .order_by(Action.created_at.desc(), Action.id.desc())
            .limit(count)
        )
        return [
            ReplyFact(
                id=row.id,
                message_id=row.message_id,
                key=row.idempotency_key,
                created_at=row.created_at,
                state=row.state,
                text=_text(row.payload),
                note=row.last_error,
                attempts=row.attempts,
            )
            for row in rows
        ]

    async def _outcomes(self, message_ids: Sequence[int]) -> list[OutcomeFact]:
        if not message_ids:
            return []
        rows = await self._session.execute(
            select(Outcome.message_id, Outcome.action, Outcome.rule, Outcome.created_at).where(
                Outcome.message_id.in_(message_ids)
            )
        )
        return [OutcomeFact(*row) for row in rows]

    async def _decisions(self, message_ids: Sequence[int]) -> list[DecisionFact]:
        if not message_ids:
            return []
        rows = await self._session.execute(
            select(
                ReviewItem.id,
                ReviewItem.message_id,
                ReviewItem.decision,
                ReviewItem.decided_at,
                ReviewItem.decided_by,
                ReviewItem.decision_note,
            ).where(
                ReviewItem.message_id.in_(message_ids),
                ReviewItem.decision.is_not(None),
                ReviewItem.decided_at.is_not(None),
            )
        )
        return [
            DecisionFact(item_id, message_id, decision, decided_at, decided_by, note)
            for item_id, message_id, decision, decided_at, decided_by, note in rows
            if decision is not None and decided_at is not None
        ]

    async def _emails(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self._session.execute(select(User.id, User.email).where(User.id.in_(ids)))
        return dict(rows.all())

    async def references(self, prompt_ids: set[int]) -> dict[int, str]:
        """The references of prompts by id (for the queue: each item's prompt)."""
        if not prompt_ids:
            return {}
        rows = await self._session.execute(
            select(PromptRow.id, PromptRow.reference).where(PromptRow.id.in_(prompt_ids))
        )
        return dict(rows.all())


def _text(payload: object) -> str | None:
    """A reply's text; None once retention cleared the payload."""
    if isinstance(payload, dict):
        text = payload.get("text")
        if isinstance(text, str):
            return text
    return None
