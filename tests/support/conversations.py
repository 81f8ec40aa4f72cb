"""A conversation seeded through the store (not the rules worker): reminders, replies both
ways, an outcome, a caseworker's decision and an item waiting for review, plus traffic of other
numbers and services that must not show in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.conversation import caseworker_token
from inbound.message import InboundMessage
from inbound.prompts.model import Prompt, PromptState
from inbound.rules.model import Action as Act
from inbound.states import ActionKind, ActionState, ReviewState
from inbound.store import prompt_writes
from inbound.store.actions import Actions
from inbound.store.messages import Messages
from inbound.store.models import Message, PromptRow

NUMBER = "+447700900777"
OTHER_NUMBER = "+447700900888"
REMINDER = "Reminder: your appointment is on 3 December at 09:00. Reply YES or CANCEL"


@dataclass(frozen=True)
class Seeded:
    """Ids of what was seeded: the item waiting for review is `item`."""

    item: int
    earlier_item: int
    answered_prompt: int
    open_prompt: int
    message_ids: tuple[int, ...]


async def send_prompt(
    sessions: async_sessionmaker[AsyncSession],
    service: str,
    number: str,
    reference: str,
    text: str | None = None,
) -> None:
    """A reminder expecting confirm or cancel, sent an hour ago and open for a day."""
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        await prompt_writes.store(
            session,
            [
                Prompt(
                    service=service,
                    recipient=number,
                    reference=reference,
                    expects=frozenset({Act.confirm, Act.cancel}),
                    sent_at=now - timedelta(hours=1),
                    expires_at=now + timedelta(days=1),
                    text=text,
                )
            ],
        )


async def add_message(
    session: AsyncSession,
    service: str | None,
    sender: str,
    recipient: str,
    text: str,
    when: datetime,
    status: str = "processed",
    prompt_id: int | None = None,
    prompt_match: str | None = None,
) -> Message:
    """A stored reply, accepted at `when`."""
    inbound = InboundMessage(
        provider="generic",
        provider_message_id=f"cv-{uuid.uuid4().hex[:12]}",
        sender=sender,
        recipient=recipient,
        text=text,
        received_at=when,
        accepted_at=when,
    )
    row = await Messages(session).add(inbound, service, status)
    row.prompt_id, row.prompt_match = prompt_id, prompt_match
    await session.flush()
    return row


async def seed_conversation(
    sessions: async_sessionmaker[AsyncSession],
    service: str,
    recipient: str,
    *,
    caseworker_id: int | None,
    number: str = NUMBER,
    now: datetime | None = None,
) -> Seeded:
    """One number's thread with `service` (see the module's docstring)."""
    now = now or datetime.now(UTC)
    async with sessions.begin() as session:
        stored = await prompt_writes.store(
            session,
            [
                Prompt(
                    service=service,
                    recipient=number,
                    reference="appt-8812",
                    expects=frozenset({Act.confirm, Act.cancel}),
                    sent_at=now - timedelta(days=3),
                    expires_at=now + timedelta(days=2),
                    text=REMINDER,
                ),
                Prompt(
                    service=service,
                    recipient=number,
                    reference="appt-9001",
                    expects=frozenset({Act.confirm, Act.cancel, Act.change}),
                    sent_at=now - timedelta(days=1),
                    expires_at=now + timedelta(days=6),
                    text=None,
                ),
                # Another number's reminder: never in this thread.
                Prompt(
                    service=service,
                    recipient=OTHER_NUMBER,
                    reference="appt-7000",
                    expects=frozenset({Act.confirm}),
                    sent_at=now - timedelta(days=1),
                    expires_at=now + timedelta(days=6),
                    text="Someone else's reminder",
                ),
            ],
            now=now - timedelta(days=3),
        )
        answered, waiting = stored[0].id, stored[1].id
        messages = Messages(session)

        # Five days ago: a question from the number, dismissed with a caseworker's text.
        first = await add_message(
            session, service, number, recipient, "who is this?", now - timedelta(days=5), "review"
        )
        earlier = await messages.open_review(first, service, "no rule matched", None)
        earlier.state = ReviewState.DISMISSED
        earlier.decided_by = earlier.claimed_by = caseworker_id
        earlier.decided_at = now - timedelta(days=5) + timedelta(minutes=6)
        earlier.decision, earlier.decision_note = "dismissed", "answered by text"
        earlier.created_at = first.accepted_at
        sent = await Actions(session).add(
            message_id=first.id,
            service_id=service,
            kind=ActionKind.REPLY,
            key=f"{service}:{first.id}:reply:caseworker:"
            + caseworker_token(caseworker_id or 0, uuid.uuid4().hex),
            payload={"text": "This is Riverside Surgery."},
            recipient=number,
            state=ActionState.DELIVERED,
        )
        sent.created_at = now - timedelta(days=5) + timedelta(minutes=5)

        # Two days ago: YES to the first reminder, confirmed, with an automatic reply.
        second = await add_message(
            session,
            service,
            number,
            recipient,
            "YES",
            now - timedelta(days=2),
            prompt_id=answered,
            prompt_match="answers appt-8812 (the one open reminder; confirm is expected)",
        )
        outcome = await messages.add_outcome(second, service, "confirm", "confirm", {})
        outcome.created_at = second.accepted_at
        thanks = await Actions(session).add(
            message_id=second.id,
            service_id=service,
            kind=ActionKind.REPLY,
            key=f"{service}:{second.id}:reply:confirm",
            payload={"text": "Thanks, see you then."},
            recipient=number,
            state=ActionState.DELIVERED,
        )
        thanks.created_at = second.accepted_at
        await session.execute(
            update(PromptRow)
            .where(PromptRow.id == answered)
            .values(
                state=PromptState.ANSWERED.value,
                answer_action="confirm",
                answered_at=now - timedelta(days=2),
                answer_message_id=second.id,
            )
        )

        # Ten minutes ago: a reply a person must read (the item).
        third = await add_message(
            session,
            service,
            number,
            recipient,
            "Yes but can I change the time?",
            now - timedelta(minutes=10),
            "review",
            prompt_id=waiting,
            prompt_match="most likely about appt-9001: the rules send it to review",
        )
        item = await messages.open_review(third, service, "a person decides: test item", None)

        # Noise: the same number to another service, another number to this one.
        await add_message(session, "beta", number, "+447700900002", "beta's YES", now)
        await add_message(session, service, OTHER_NUMBER, recipient, "not this thread", now)
        item.created_at = third.accepted_at
        await session.flush()
        return Seeded(item.id, earlier.id, answered, waiting, (first.id, second.id, third.id))
