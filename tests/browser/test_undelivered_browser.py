"""The "could not be delivered" page in Chromium at 1280, 375 and 320 px: a callback that gave up,
its reason in words, "Try again" with focus on the success banner, axe-core clean, nothing
wider than the window; and a platform admin's notice of a service with no caseworker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from inbound.store.models import Action
from tests.browser.test_review_browser import shot, sign_in
from tests.integration.conftest import Stack
from tests.integration.review_support import ALPHA_NUMBER
from tests.integration.test_actions import send
from tests.support.browser import AXE, add_person
from tests.support.fake_service import FakeService, fake_service
from tests.support.waiting import eventually

WIDTHS = (1280, 375, 320)


async def violations(page: Page) -> list[str]:
    """Every axe-core violation on the page, whatever its impact."""
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in found]


@pytest.fixture
async def callbacks() -> AsyncIterator[FakeService]:
    """alpha's callback endpoint, failing (500) until a test says otherwise."""
    async with fake_service([500]) as service:
        yield service


async def callback_states(stack: Stack) -> list[tuple[int, str]]:
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Action.id, Action.state).where(Action.kind == "callback").order_by(Action.id)
        )
        return [(row[0], row[1]) for row in rows]


async def fits(page: Page, width: int) -> None:
    """Nothing on the page is wider than the window."""
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{scroll} px wide at {width} px"


async def test_a_caseworker_tries_a_failed_callback_again(
    stack: Stack, browser: Browser, callbacks: FakeService
) -> None:
    person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    await send(stack, "cancel", to=ALPHA_NUMBER)
    [(action_id, _)] = await eventually(
        lambda: callback_states(stack), lambda rows: bool(rows) and rows[0][1] == "failed"
    )
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    await page.goto(stack.base_url + "/review/undelivered")
    await page.get_by_role("heading", name="Could not be delivered").wait_for()
    row = page.get_by_role("row").filter(has_text=f"#{action_id}")
    assert "answered with an error of its own (HTTP 500), 4 times" in await row.inner_text()
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await shot(page, f"undelivered-{width}")
        assert await violations(page) == []
        await fits(page, width)

    # A second tab left open on the list: its button is stale once the first has been used.
    stale = await context.new_page()
    await stale.goto(stack.base_url + "/review/undelivered")

    callbacks.script = [200]
    await page.get_by_role("button", name=f"Try again callback #{action_id}").click()
    banner = page.get_by_role("alert").filter(has_text=f"Callback #{action_id} is being sent again")
    await banner.wait_for()
    # govuk-frontend moves focus to a success banner, so a screen reader hears it first.
    focused = await page.evaluate(
        "document.activeElement && document.activeElement.classList.contains("
        "'govuk-notification-banner')"
    )
    assert focused
    await eventually(
        lambda: callback_states(stack), lambda rows: rows == [(action_id, "delivered")]
    )
    assert callbacks.received[-1].json()["action"] == "cancel"
    await shot(page, "undelivered-tried-320")
    assert await violations(page) == []

    await stale.set_viewport_size({"width": 375, "height": 900})
    await stale.get_by_role("button", name=f"Try again callback #{action_id}").click()
    summary = stale.locator(".govuk-error-summary")
    await summary.wait_for()
    assert f"#{action_id} can't be sent again" in await summary.inner_text()
    await shot(stale, "undelivered-refused-375")
    assert await violations(stale) == []
    await fits(stale, 375)


async def test_a_platform_admin_sees_the_service_with_no_caseworker(
    stack: Stack, browser: Browser
) -> None:
    admin = await add_person(stack.sessions, "ops@example.org", {}, platform_admin=True)
    context = await browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, admin)
    for path, name in (("/review/", "queue"), ("/review/undelivered", "undelivered")):
        await page.goto(stack.base_url + path)
        notice = page.get_by_role("region", name="Important")
        assert "A service has no caseworker" in await notice.inner_text()
        assert "--service alpha --role caseworker" in await notice.inner_text()
        if name == "undelivered":
            assert "You have no service of your own" in await page.locator("main").inner_text()
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 900})
            await shot(page, f"no-caseworker-{name}-{width}")
            assert await violations(page) == []
            await fits(page, width)
