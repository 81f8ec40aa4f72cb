"""Decisions on the item page that can't go wrong by accident, over real HTTP: nothing chosen
for the caseworker, only the service's own actions in words, a check page before anything is
sent, captures checked as the rules check them, and undo within 30 seconds."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from inbound.config import Settings
from inbound.states import ActionState
from inbound.store.models import Action, AuditEvent, OptOut, Outcome, ReviewItem, User
from tests.integration.conftest import Stack, running_stack
from tests.integration.review_support import callback_secret
from tests.integration.test_actions import CALLBACK_SECRET
from tests.support.browser import Client, add_item, add_person, signed_in
from tests.support.fake_service import FakeService, fake_service
from tests.support.waiting import eventually

__all__ = ["CALLBACK_SECRET", "callback_secret"]  # fixtures

NUMBER = "+447700900001"
RULES = """
service:
  id: alpha
  name: Riverside Surgery
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
    secret_env: INBOUND_TEST_CALLBACK_SECRET
labels:
  report: Send the report to the highways team
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
    reply: Thanks, confirmed.
  - name: cancel
    keywords: [cancel]
    action: cancel
  - name: report
    keywords: [report]
    match: first
    action: report
    captures: {{reference: '[a-z]{{2}}[0-9]{{4}}'}}
  - name: rate
    keywords: [rate]
    match: first
    action: feedback
    captures: {{rating: true}}
  - name: stop
    keywords: [stop]
    action: opt_out
  - name: unsure
    keywords: [maybe]
    action: manual
"""


@dataclass
class World:
    stack: Stack
    callbacks: FakeService
    browser: Client
    user_id: int
    token: str  # the same caseworker's API token

    async def claimed(self, text: str = "yes but can I change the time?") -> int:
        number = f"+4477009{uuid.uuid4().int % 100_000:05d}"
        item = await add_item(self.stack.sessions, "alpha", text, sender=number, recipient=NUMBER)
        status, _, _ = await self.browser.post(f"/review/items/{item}/claim", {})
        assert status == 303
        return item

    async def decide(self, item: int, **form: str) -> tuple[int, str, str]:
        status, page, headers = await self.browser.post(f"/review/items/{item}/decide", form)
        return status, page, headers.get("Location", "")

    async def item(self, item: int) -> ReviewItem:
        async with self.stack.sessions() as session:
            found = await session.get(ReviewItem, item)
            assert found is not None
            return found

    async def recorded(self, item: int) -> tuple[str, int, int]:
        """The item's state, and how many outcomes and actions its message has."""
        found = await self.item(item)
        async with self.stack.sessions() as session:
            outcomes = (
                await session.scalars(select(Outcome).where(Outcome.message_id == found.message_id))
            ).all()
            actions = (
                await session.scalars(select(Action).where(Action.message_id == found.message_id))
            ).all()
        return found.state, len(outcomes), len(actions)

    async def actions(self, item: int) -> list[Action]:
        found = await self.item(item)
        async with self.stack.sessions() as session:
            rows = await session.scalars(
                select(Action).where(Action.message_id == found.message_id)
            )
            return list(rows)

    async def age_decision(self, item: int, by: timedelta) -> None:
        """Move the decision (and its actions' hold) `by` into the past."""
        found = await self.item(item)
        assert found.decided_at is not None
        async with self.stack.sessions.begin() as session:
            await session.execute(
                update(ReviewItem)
                .where(ReviewItem.id == item)
                .values(decided_at=found.decided_at - by)
            )
            await session.execute(
                update(Action)
                .where(Action.message_id == found.message_id)
                .values(not_before=datetime.now(UTC) + timedelta(hours=1))
            )


@pytest.fixture
async def world(settings: Settings, tmp_path: Path) -> AsyncIterator[World]:
    async with fake_service([200]) as callbacks:
        folder = tmp_path / "rules"
        folder.mkdir()
        (folder / "alpha.yaml").write_text(RULES.format(number=NUMBER, url=callbacks.url))
        changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
        async with running_stack(changed) as stack:
            person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
            browser = await signed_in(stack.base_url, person)
            try:
                async with stack.sessions() as session:
                    user_id = await session.scalar(
                        select(User.id).where(User.email == person.email)
                    )
                assert user_id is not None
                yield World(stack, callbacks, browser, user_id, person.token)
            finally:
                await browser.close()


RADIO = re.compile(r'<input class="govuk-radios__input"[^>]*>')


async def test_the_choices_are_the_services_own_actions_in_words_and_none_is_chosen(
    world: World,
) -> None:
    item = await world.claimed()
    _, page, _ = await world.browser.get(f"/review/items/{item}")
    radios = RADIO.findall(page)
    values = [re.search(r'value="([^"]+)"', radio).group(1) for radio in radios]  # type: ignore[union-attr]
    assert values == ["confirm", "cancel", "report", "feedback", "opt_out", "none"]
    assert not any("checked" in radio for radio in radios)
    assert "<select" not in page
    for words in (
        "Confirm the appointment",
        "Cancel the appointment",
        "Send the report to the highways team",  # the rule file's own label
        "Pass on the feedback",
        "Opt out of messages",
        "No action needed",
    ):
        assert words in page
    assert "follow_up" not in page
    assert 'id="decision"' in page  # the first radio, where the error summary links


async def test_nothing_chosen_is_an_error_linked_to_the_radios_and_nothing_is_saved(
    world: World,
) -> None:
    item = await world.claimed()
    status, page, _ = await world.decide(item, details="ok")
    assert status == 400
    assert 'class="govuk-error-summary"' in page
    assert '<a href="#decision">Select what to do with this reply</a>' in page
    assert 'id="decision-error"' in page
    assert await world.recorded(item) == ("claimed", 0, 0)


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"decision": "feedback", "rating": "ten"}, "rating", "whole number from 1 to 5"),
        ({"decision": "feedback", "rating": "6"}, "rating", "whole number from 1 to 5"),
        ({"decision": "report", "reference": "12345"}, "reference", "form this service"),
        ({"decision": "follow_up"}, "decision", "Select one of the decisions on the page"),
        ({"decision": "launch"}, "decision", "Select one of the decisions on the page"),
    ],
)
async def test_captures_are_checked_as_the_rules_check_them_and_nothing_is_half_saved(
    world: World, form: dict[str, str], field: str, words: str
) -> None:
    item = await world.claimed()
    for confirmed in ({}, {"confirmed": "yes"}):  # refused at the check and at the confirm
        status, page, _ = await world.decide(item, **form, **confirmed)
        assert status == 400
        anchor = "#decision" if field == "decision" else f"#cap-{field}"
        assert re.search(rf'<a href="{anchor}">[^<]*{words}', page), page[:3000]
        assert await world.recorded(item) == ("claimed", 0, 0)
    # What the caseworker typed is kept, for them to correct.
    if field != "decision":
        assert f'value="{form[field]}"' in page


async def test_a_decision_that_sends_a_callback_is_checked_then_held_then_undone(
    world: World,
) -> None:
    item = await world.claimed()
    status, page, _ = await world.decide(item, decision="confirm", details="at 3pm")
    assert status == 200
    assert "Check your decision" in page
    assert "inbound will tell Riverside Surgery that the appointment is confirmed." in page
    assert "Confirm decision" in page
    assert "at 3pm" in page
    assert await world.recorded(item) == ("claimed", 0, 0)  # nothing yet

    status, _, location = await world.decide(
        item, decision="confirm", details="at 3pm", confirmed="yes"
    )
    assert (status, location) == (303, f"/review/items/{item}?done=decide")
    (held,) = await world.actions(item)
    assert held.state == ActionState.PENDING
    assert held.published_at is None
    assert held.not_before is not None
    assert held.not_before - held.created_at >= timedelta(seconds=29)
    _, page, _ = await world.browser.get(location)
    assert 'role="alert"' in page
    assert "Decision recorded" in page
    assert "Confirm the appointment" in page
    assert f'action="/review/items/{item}/undo"' in page

    status, _, headers = await world.browser.post(f"/review/items/{item}/undo", {})
    assert (status, headers["Location"]) == (303, f"/review/items/{item}?done=undo")
    assert await world.recorded(item) == ("claimed", 0, 0)
    found = await world.item(item)
    assert (found.claimed_by, found.decision, found.decided_at) == (world.user_id, None, None)
    async with world.stack.sessions() as session:
        audit = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.item_id == item, AuditEvent.action == "undo")
            )
        ).all()
    assert [event.detail for event in audit] == ["confirm"]
    assert world.callbacks.received == []

    # Decided again, it goes, once, after its hold (the sweep hands it over).
    await world.decide(item, decision="cancel", confirmed="yes")
    await eventually(lambda: _count(world.callbacks), lambda n: n >= 1, within=60)
    assert [r.json()["action"] for r in world.callbacks.received] == ["cancel"]


async def test_undo_is_refused_after_30_seconds(world: World) -> None:
    item = await world.claimed()
    await world.decide(item, decision="confirm", confirmed="yes")
    await world.age_decision(item, timedelta(seconds=31))
    _, page, _ = await world.browser.get(f"/review/items/{item}")
    assert "/undo" not in page  # no longer offered
    status, page, _ = await world.browser.post(f"/review/items/{item}/undo", {})
    assert status == 409
    assert "can only be undone within 30 seconds" in page
    assert await world.recorded(item) == ("resolved", 1, 1)


async def test_undo_is_refused_once_the_callback_has_left(world: World) -> None:
    item = await world.claimed()
    await world.decide(item, decision="confirm", confirmed="yes")
    (held,) = await world.actions(item)
    async with world.stack.sessions.begin() as session:
        await session.execute(
            update(Action)
            .where(Action.id == held.id)
            .values(state=ActionState.DELIVERED, published_at=datetime.now(UTC))
        )
    status, page, _ = await world.browser.post(f"/review/items/{item}/undo", {})
    assert status == 409
    assert "already left" in page
    assert await world.recorded(item) == ("resolved", 1, 1)


async def test_no_action_needed_closes_at_once_and_can_be_undone(world: World) -> None:
    item = await world.claimed()
    status, _, location = await world.decide(item, decision="none")
    assert (status, location) == (303, f"/review/items/{item}?done=none")
    found = await world.item(item)
    assert (found.state, found.decision_note) == ("dismissed", "No action needed")
    status, _, _ = await world.browser.post(f"/review/items/{item}/undo", {})
    assert status == 303
    assert (await world.item(item)).state == "claimed"


async def test_an_opt_out_is_checked_says_it_cannot_be_undone_and_is_not(world: World) -> None:
    item = await world.claimed()
    _, page, _ = await world.decide(item, decision="opt_out")
    assert "The number goes on the opt-out register at once" in page
    assert "You can't undo this once you confirm" in page
    await world.decide(item, decision="opt_out", confirmed="yes")
    status, page, _ = await world.browser.post(f"/review/items/{item}/undo", {})
    assert status == 409
    assert "opt-out register" in page
    async with world.stack.sessions() as session:
        assert await session.scalar(select(OptOut.id)) is not None


async def test_change_on_the_check_page_shows_the_form_as_it_was_filled(world: World) -> None:
    item = await world.claimed()
    status, page, _ = await world.decide(item, decision="report", reference="AB1234", change="yes")
    assert status == 200
    assert re.search(r'value="report" checked', page)
    assert 'value="AB1234"' in page
    assert await world.recorded(item) == ("claimed", 0, 0)


async def test_the_api_decides_at_once_and_checks_captures_too(world: World) -> None:
    item = await world.claimed()
    headers = {"Authorization": f"Bearer {world.token}"}
    url = f"{world.stack.base_url}/api/items/{item}/decide"
    async with world.stack.http.post(
        url, json={"action": "feedback", "captures": {"rating": "ten"}}, headers=headers
    ) as response:
        assert response.status == 422
    assert await world.recorded(item) == ("claimed", 0, 0)
    async with world.stack.http.post(url, json={"action": "confirm"}, headers=headers) as response:
        assert response.status == 200
    (action,) = await world.actions(item)
    assert action.not_before is None  # no undo in the API: nothing held back


async def _count(service: FakeService) -> int:
    return len(service.received)


async def test_save_and_go_to_next_item_opens_the_next_with_undo_for_the_last(
    world: World,
) -> None:
    item = await world.claimed()
    following = await add_item(world.stack.sessions, "alpha", "who is this?", recipient=NUMBER)
    status, page, _ = await world.decide(item, decision="cancel", then="next")
    assert status == 200  # checked first, still
    assert "Confirm decision and go to next item" in page
    status, _, location = await world.decide(item, decision="cancel", then="next", confirmed="yes")
    assert (status, location) == (303, f"/review/items/{following}?done=next&previous={item}")
    _, page, _ = await world.browser.get(location)
    assert "Decision recorded on <a" in page
    assert f"item #{item}</a>: Cancel the appointment." in page
    assert f'action="/review/items/{item}/undo"' in page
    status, _, headers = await world.browser.post(f"/review/items/{item}/undo", {})
    assert (status, headers["Location"]) == (303, f"/review/items/{item}?done=undo")
    assert await world.recorded(item) == ("claimed", 0, 0)


async def test_a_previous_item_in_the_link_that_is_not_yours_offers_nothing(world: World) -> None:
    item = await world.claimed()
    other = await world.claimed()
    _, page, _ = await world.browser.get(f"/review/items/{item}?done=next&previous={other}")
    assert "/undo" not in page  # undecided: nothing to undo, nothing named
    assert "Decision recorded on the previous item" in page
