"""A caseworker's decision on a reply about a prompt answers that prompt, over real HTTP to a
running inbound (SQLite and PostgreSQL): the callback names the prompt, and the sender's next
"YES" is a repeat of the caseworker's answer, not a second outcome."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from inbound.prompts.model import PromptState
from inbound.states import ActionKind
from inbound.store.models import Action, PromptRow
from inbound.store.users import Users
from tests.integration.review_support import ALPHA_NUMBER, Desk, callback_secret, desk
from tests.support.conversations import send_prompt
from tests.support.waiting import eventually

__all__ = ["callback_secret", "desk"]  # fixtures

NUMBER = "+447700900456"


async def reply(desk: Desk, text: str) -> str:
    message_id = f"pd-{uuid.uuid4().hex[:8]}"
    payload = {"id": message_id, "from": NUMBER, "to": ALPHA_NUMBER, "text": text}
    assert (await desk.stack.post_generic(payload)).status == 202
    await desk.stack.processed(message_id)
    return message_id


async def callback_events(desk: Desk) -> list[dict[str, Any]]:
    async with desk.stack.sessions() as session:
        payloads = await session.scalars(
            select(Action.payload).where(Action.kind == ActionKind.CALLBACK).order_by(Action.id)
        )
        return [payload["event"] for payload in payloads]


async def test_a_caseworker_decision_answers_the_prompt_the_reply_was_about(desk: Desk) -> None:
    await send_prompt(desk.stack.sessions, "alpha", NUMBER, "appt-5150")
    asked = await reply(desk, "is there parking?")
    item = await eventually(lambda: desk.stack.review_for(asked), lambda i: i is not None)
    assert item is not None
    assert item.reason.endswith("; most likely about reminder appt-5150")
    status, _ = await desk.api("POST", f"/api/items/{item.id}/claim")
    assert status == 200
    status, body = await desk.api(
        "POST", f"/api/items/{item.id}/decide", json={"action": "confirm"}
    )
    assert status == 200, body
    async with desk.stack.sessions() as session:
        answered = await session.scalar(select(PromptRow))
    assert answered is not None
    assert (answered.state, answered.answer_action) == (PromptState.ANSWERED, "confirm")
    [event] = await callback_events(desk)
    async with desk.stack.sessions() as session:
        user = await Users(session).by_email(desk.caseworker.email)
    assert user is not None
    assert event["decided_by"] == {"caseworker": str(user.id)}
    assert event["prompt"]["reference"] == "appt-5150"
    # The sender then says yes: the same answer the caseworker recorded, so nothing new.
    again = await reply(desk, "yes")
    assert (await desk.stack.processed(again)).status == "repeat"
    assert len(await callback_events(desk)) == 1
