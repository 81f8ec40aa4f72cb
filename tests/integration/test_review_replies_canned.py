"""Canned replies and "Decide and reply" on the item page, over real HTTP on both databases:
picking a canned reply sends its filled text, a service of canned replies only refuses free
text, a decision and a reply confirmed together are committed together, and a reply that is
refused decides nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.config import Settings
from inbound.review.desk import Desk
from inbound.rules.model import ServiceRules
from inbound.states import ActionKind
from inbound.store.models import Action, Message, OptOut, Outcome, ReviewItem
from tests.integration.conftest import Stack, running_stack
from tests.integration.review_support import callback_secret
from tests.support.browser import Client, add_item, add_person, signed_in
from tests.support.fake_service import FakeService, fake_service

__all__ = ["callback_secret"]  # fixtures

ALPHA, BETA = "+447700900001", "+447700900002"
RULES = """
service:
  id: {id}
  name: {name}
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
    secret_env: INBOUND_TEST_CALLBACK_SECRET
  canned_replies_only: {only}
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
  - name: cancel
    keywords: [cancel]
    action: cancel
replies:
  - name: Call us
    text: "Please call {{service}} on 01632 960000."
  - name: About your reminder
    text: "About {{reference}}: we will text you a new time."
"""


@dataclass
class World:
    stack: Stack
    callbacks: FakeService
    browser: Client

    async def claimed(self, service: str = "alpha") -> int:
        number = f"+4477009{uuid.uuid4().int % 100_000:05d}"
        recipient = ALPHA if service == "alpha" else BETA
        item = await add_item(
            self.stack.sessions,
            service,
            "yes but can I change the time?",
            sender=number,
            recipient=recipient,
        )
        status, _, _ = await self.browser.post(f"/review/items/{item}/claim", {})
        assert status == 303
        return item

    async def post(self, item: int, what: str, **form: str) -> tuple[int, str, str]:
        status, page, headers = await self.browser.post(f"/review/items/{item}/{what}", form)
        return status, page, headers.get("Location", "")

    async def recorded(self, item: int) -> tuple[str, int, list[Action]]:
        """The item's state, its message's outcomes and its actions."""
        async with self.stack.sessions() as session:
            found = await session.get(ReviewItem, item)
            assert found is not None
            outcomes = (
                await session.scalars(select(Outcome).where(Outcome.message_id == found.message_id))
            ).all()
            actions = (
                await session.scalars(
                    select(Action).where(Action.message_id == found.message_id).order_by(Action.id)
                )
            ).all()
            return found.state, len(outcomes), list(actions)

    async def opt_out(self, item: int) -> None:
        async with self.stack.sessions.begin() as session:
            found = await session.get(ReviewItem, item)
            assert found is not None
            message = await session.get(Message, found.message_id)
            assert message is not None
            session.add(
                OptOut(
                    service_id=found.service_id,
                    number=message.sender,
                    opted_out_at=datetime.now(UTC),
                )
            )


@pytest.fixture
async def world(settings: Settings, tmp_path: Path) -> AsyncIterator[World]:
    async with fake_service([200] * 10) as callbacks:
        folder = tmp_path / "rules"
        folder.mkdir()
        for service, name, number, only in (
            ("alpha", "Riverside Surgery", ALPHA, "false"),
            ("beta", "Hillside Clinic", BETA, "true"),
        ):
            (folder / f"{service}.yaml").write_text(
                RULES.format(id=service, name=name, number=number, url=callbacks.url, only=only)
            )
        changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
        async with running_stack(changed) as stack:
            person = await add_person(
                stack.sessions, "ana@alpha.example", {"alpha": "caseworker", "beta": "caseworker"}
            )
            browser = await signed_in(stack.base_url, person)
            try:
                yield World(stack, callbacks, browser)
            finally:
                await browser.close()


def replies(actions: list[Action]) -> list[str]:
    return [a.payload["text"] for a in actions if a.kind == ActionKind.REPLY]


async def test_picking_a_canned_reply_sends_its_filled_text(world: World) -> None:
    item = await world.claimed()
    _, page, _ = await world.browser.get(f"/review/items/{item}")
    assert 'name="canned" type="radio" value="Call us"' in page
    assert "Please call Riverside Surgery on 01632 960000." in page  # previewed, filled
    # Its text needs a reminder's reference, which this message doesn't answer: not offered.
    assert 'value="About your reminder"' not in page
    assert "needs reference" in page
    assert 'data-module="govuk-character-count"' in page
    assert "Sends as 0 texts." in page

    status, _, where = await world.post(item, "reply", canned="Call us", text="")
    assert (status, where) == (303, f"/review/items/{item}?done=reply")
    _, _, actions = await world.recorded(item)
    assert replies(actions) == ["Please call Riverside Surgery on 01632 960000."]

    status, page, _ = await world.post(item, "reply", canned="About your reminder", text="")
    assert status == 400
    assert '<a href="#canned">Select one of the canned replies on the page' in page


async def test_a_service_of_canned_replies_only_refuses_free_text(world: World) -> None:
    item = await world.claimed("beta")
    _, page, _ = await world.browser.get(f"/review/items/{item}")
    assert 'id="reply-text"' not in page
    assert 'id="decide-reply-text"' not in page
    assert "This service sends only these replies." in page

    status, page, _ = await world.post(item, "reply", text="See you at 3, Ana")
    assert status == 400
    assert 'class="govuk-error-summary"' in page
    assert (
        '<a href="#canned">This service lets caseworkers send only its canned replies: '
        "pick one of them</a>" in page
    )
    _, _, actions = await world.recorded(item)
    assert replies(actions) == []

    status, _, _ = await world.post(item, "reply", canned="Call us")
    assert status == 303
    _, _, actions = await world.recorded(item)
    assert replies(actions) == ["Please call Hillside Clinic on 01632 960000."]


async def test_decide_and_reply_in_one_step_is_checked_then_commits_both(world: World) -> None:
    item = await world.claimed()
    status, page, _ = await world.post(
        item, "decide", decision="cancel", reply_text="Sorry to see you go, we have cancelled it."
    )
    assert status == 200
    assert "Check your decision" in page
    assert 'id="check-reply"' in page
    assert "Sorry to see you go" in page
    assert "Confirm decision and reply" in page
    assert await world.recorded(item) == ("claimed", 0, [])

    status, _, where = await world.post(
        item,
        "decide",
        decision="cancel",
        reply_text="Sorry to see you go, we have cancelled it.",
        confirmed="yes",
    )
    assert (status, where) == (303, f"/review/items/{item}?done=decide-reply")
    state, outcomes, actions = await world.recorded(item)
    assert (state, outcomes) == ("resolved", 1)
    assert sorted(a.kind for a in actions) == sorted([ActionKind.CALLBACK, ActionKind.REPLY])
    assert replies(actions) == ["Sorry to see you go, we have cancelled it."]
    # Both wait out the undo window together.
    assert all(a.not_before is not None for a in actions)
    _, page, _ = await world.browser.get(where)
    assert "Your reply goes with it." in page


async def test_a_canned_reply_goes_with_a_decision_too(world: World) -> None:
    item = await world.claimed("beta")
    status, page, _ = await world.post(item, "decide", decision="confirm", reply_canned="Call us")
    assert status == 200
    assert "Please call Hillside Clinic" in page
    assert 'name="reply_canned" value="Call us"' in page  # carried to the confirmation
    status, _, _ = await world.post(
        item, "decide", decision="confirm", reply_canned="Call us", confirmed="yes"
    )
    assert status == 303
    state, _, actions = await world.recorded(item)
    assert state == "resolved"
    assert replies(actions) == ["Please call Hillside Clinic on 01632 960000."]


async def test_a_refused_reply_decides_nothing(world: World) -> None:
    item = await world.claimed()
    await world.opt_out(item)
    status, page, _ = await world.post(
        item, "decide", decision="confirm", reply_text="See you then", confirmed="yes"
    )
    assert status == 409
    assert "the reply can&#39;t be sent: this number has opted out" in page
    assert await world.recorded(item) == ("claimed", 0, [])


async def test_a_reply_refused_at_the_confirmation_rolls_the_decision_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number opts out between the check and the confirmation: the decision's own check of
    the reply refuses it, and the outcome and callback written before it are rolled back."""
    item = await world.claimed()
    checked = Desk._reply_allowed
    calls: list[int] = []

    async def opted_out_after_the_check(
        self: Desk, session: AsyncSession, service: ServiceRules, message: Message
    ) -> None:
        calls.append(1)
        if len(calls) == 2:  # the confirmation's own check, after the preview's
            # In the decision's transaction (SQLite allows one writer): as if it had opted
            # out a moment before.
            session.add(
                OptOut(
                    service_id=service.service.id,
                    number=message.sender,
                    opted_out_at=datetime.now(UTC),
                )
            )
        await checked(self, session, service, message)

    monkeypatch.setattr(Desk, "_reply_allowed", opted_out_after_the_check)
    status, page, _ = await world.post(
        item, "decide", decision="confirm", reply_text="See you then", confirmed="yes"
    )
    assert status == 409, page
    assert len(calls) == 2
    assert await world.recorded(item) == ("claimed", 0, [])


async def test_decide_first_then_reply_still_works(world: World) -> None:
    item = await world.claimed()
    status, _, _ = await world.post(item, "decide", decision="cancel", confirmed="yes")
    assert status == 303
    _, page, _ = await world.browser.get(f"/review/items/{item}")
    assert f'action="/review/items/{item}/reply"' in page
    status, _, _ = await world.post(item, "reply", text="We have cancelled it.")
    assert status == 303
    _, _, actions = await world.recorded(item)
    assert replies(actions) == ["We have cancelled it."]


async def test_no_action_needed_with_a_reply_holds_it_and_undo_withdraws_it(world: World) -> None:
    item = await world.claimed()
    status, _, where = await world.post(
        item, "decide", decision="none", reply_canned="Call us", reply_text=""
    )
    assert (status, where) == (303, f"/review/items/{item}?done=none")
    state, _, actions = await world.recorded(item)
    assert state == "dismissed"
    assert replies(actions) == ["Please call Riverside Surgery on 01632 960000."]
    assert all(a.not_before is not None for a in actions)  # held for the undo window
    status, _, _ = await world.post(item, "undo")
    assert status == 303
    assert await world.recorded(item) == ("claimed", 0, [])


async def test_the_api_offers_canned_replies_and_sends_them_by_name(world: World) -> None:
    """The JSON API as the pages: the item lists its canned replies, filled; a reply or a
    decision's reply goes by name; a service of canned replies only refuses free text."""
    person = await add_person(
        world.stack.sessions, "api@alpha.example", {"alpha": "caseworker", "beta": "caseworker"}
    )
    auth = {"Authorization": f"Bearer {person.token}"}
    base = world.stack.base_url + "/api/items"
    async with aiohttp.ClientSession(headers=auth) as http:

        async def claimed(service: str) -> int:
            item = await world.claimed(service)
            await world.post(item, "release")
            async with http.post(f"{base}/{item}/claim", json={}) as response:
                assert response.status == 200
            return item

        item = await claimed("beta")
        async with http.get(f"{base}/{item}") as response:
            reply = (await response.json())["reply"]
        assert reply["canned_only"] is True
        assert {"name": "Call us", "text": "Please call Hillside Clinic on 01632 960000."} in (
            reply["canned"]
        )
        async with http.post(f"{base}/{item}/reply", json={"text": "See you at 3"}) as response:
            assert response.status == 422
            assert "only its canned replies" in (await response.json())["error"]["message"]
        async with http.post(f"{base}/{item}/reply", json={"canned": "Call us"}) as response:
            assert response.status == 200
        _, _, actions = await world.recorded(item)
        assert replies(actions) == ["Please call Hillside Clinic on 01632 960000."]

        item = await claimed("alpha")
        sent = {"action": "cancel", "canned": "Call us"}
        async with http.post(f"{base}/{item}/decide", json=sent) as response:
            assert response.status == 200
        state, outcomes, actions = await world.recorded(item)
        assert (state, outcomes) == ("resolved", 1)
        assert replies(actions) == ["Please call Riverside Surgery on 01632 960000."]
