"""A caseworker's reference checked against the service's named format, over real HTTP: the
form's hint names the format, and a postcode rule refuses what is not a postcode and stores one
in its normal form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import Outcome
from tests.integration.conftest import running_stack
from tests.integration.review_support import callback_secret
from tests.integration.test_actions import CALLBACK_SECRET
from tests.integration.test_review_decisions_safe import NUMBER, World
from tests.support.browser import add_person, signed_in
from tests.support.fake_service import fake_service

__all__ = ["CALLBACK_SECRET", "callback_secret"]  # fixtures

RULES = """
service:
  id: alpha
  name: Millbrook street reports
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
    secret_env: INBOUND_TEST_CALLBACK_SECRET
rules:
  - name: report
    keywords: [report]
    match: first
    action: report
    captures:
      reference: postcode
"""


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
                yield World(stack, callbacks, browser, 0, person.token)
            finally:
                await browser.close()


async def test_a_reference_not_in_the_services_format_is_refused_and_a_good_one_normalised(
    world: World,
) -> None:
    item = await world.claimed("there is a pothole near my house")
    _, page, _ = await world.browser.get(f"/review/items/{item}")
    assert (
        '<div class="govuk-hint" id="cap-reference-hint">A GB postcode, like SW1A 1AA</div>' in page
    )
    for confirmed in ({}, {"confirmed": "yes"}):
        status, page, _ = await world.decide(item, decision="report", reference="SW1A", **confirmed)
        assert status == 400
        assert re.search(r'<a href="#cap-reference">[^<]*as a GB postcode, like SW1A 1AA', page), (
            page[:3000]
        )
        assert await world.recorded(item) == ("claimed", 0, 0)

    status, _, _ = await world.decide(item, decision="report", reference="sw1a1aa", confirmed="yes")
    assert status == 303
    message_id = (await world.item(item)).message_id
    async with world.stack.sessions() as session:
        outcome = await session.scalar(select(Outcome).where(Outcome.message_id == message_id))
    assert outcome is not None
    assert outcome.captures["reference"] == "SW1A 1AA"


async def test_the_api_refuses_a_reference_not_in_the_format_and_normalises_a_good_one(
    world: World,
) -> None:
    item = await world.claimed("pothole")
    headers = {"Authorization": f"Bearer {world.token}"}
    url = f"{world.stack.base_url}/api/items/{item}/decide"
    wrong = {"action": "report", "captures": {"reference": "12 Mill Lane"}}
    async with world.stack.http.post(url, json=wrong, headers=headers) as response:
        assert response.status == 422
        body = await response.json()
    assert "enter the reference as a GB postcode, like SW1A 1AA" in str(body)
    assert await world.recorded(item) == ("claimed", 0, 0)
    good = {"action": "report", "captures": {"reference": "m1 1ae"}}
    async with world.stack.http.post(url, json=good, headers=headers) as response:
        assert response.status == 200
    message_id = (await world.item(item)).message_id
    async with world.stack.sessions() as session:
        outcome = await session.scalar(select(Outcome).where(Outcome.message_id == message_id))
    assert outcome is not None
    assert outcome.captures["reference"] == "M1 1AE"
