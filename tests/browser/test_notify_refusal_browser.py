"""A reply GOV.UK Notify refused, in Chromium at 1280 and 375 px: Notify's own words on "Could
not be delivered" and in the item page's conversation, axe-core clean, nothing wider than the
window. The reply goes through the fake Notify with a team-only key, to a number outside the
team: Notify's 400 "Can’t send to this recipient using a team-only API key", final at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser
from pydantic import SecretStr
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import Action
from tests.browser.test_review_browser import shot, sign_in
from tests.browser.test_undelivered_browser import fits, violations
from tests.integration.conftest import Stack, running_stack
from tests.integration.review_support import ALPHA_NUMBER
from tests.integration.test_actions import configured, rules_dir, send, with_notify_service
from tests.support.browser import add_person
from tests.support.fake_notify import TEAM_ONLY_ERROR, FakeNotify
from tests.support.fake_service import FakeService
from tests.support.waiting import eventually

WIDTHS = (1280, 375)


@pytest.fixture
async def stack(
    settings: Settings, tmp_path: Path, callbacks: FakeService, fake_notify: FakeNotify
) -> AsyncIterator[Stack]:
    """inbound serving alpha, replying through the fake Notify with a team-only key."""
    notify = with_notify_service(fake_notify)
    [service] = notify.services.values()
    team_key = notify.mint_key(service, key_type="team")
    folder = rules_dir(tmp_path, [("alpha", ALPHA_NUMBER, callbacks.url)])
    changed = configured(
        settings, folder, notify, cookie_secure=False, notify_api_key=SecretStr(team_key)
    )
    async with running_stack(changed) as started:
        yield started


async def reply_states(stack: Stack) -> list[str]:
    async with stack.sessions() as session:
        rows = await session.scalars(select(Action.state).where(Action.kind == "reply"))
        return list(rows)


async def test_a_caseworker_reads_why_notify_refused_a_reply(
    stack: Stack, browser: Browser, fake_notify: FakeNotify
) -> None:
    person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    message_id = await send(stack, "yes", to=ALPHA_NUMBER)
    await eventually(lambda: reply_states(stack), lambda states: states == ["failed"])
    item = await eventually(lambda: stack.review_for(message_id), lambda found: found)
    assert item is not None
    said = f"Notify said: “{TEAM_ONLY_ERROR}”"
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)

    await page.goto(stack.base_url + "/review/undelivered")
    row = page.get_by_role("row").filter(has_text="Text reply")
    text = await row.inner_text()
    assert "GOV.UK Notify refused the text (HTTP 400), once." in text
    assert said in text
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await shot(page, f"notify-refused-undelivered-{width}")
        assert await violations(page) == []
        await fits(page, width)

    await page.goto(f"{stack.base_url}/review/items/{item.id}")
    entry = page.locator("li.entry.auto-reply")
    entry_text = await entry.inner_text()
    assert "Not delivered: GOV.UK Notify refused the text (HTTP 400), once." in entry_text
    assert said in entry_text
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await shot(page, f"notify-refused-item-{width}")
        assert await violations(page) == []
        await fits(page, width)
    assert fake_notify.sent == []
    await context.close()
