"""The queue's own actions in Chromium at 1280 and 375 px: tick items (in the table, then on the
cards), assign them to a colleague, dismiss them with one reason, see a lapsed claim tagged; a
summary banner each time, axe-core clean, nothing wider than the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page
from sqlalchemy import update

from inbound.states import ReviewState
from inbound.store.models import ReviewItem
from tests.browser.test_review_browser import shot, sign_in
from tests.browser.test_undelivered_browser import fits, violations
from tests.integration.conftest import Stack
from tests.support.browser import add_item, add_person


async def _state(stack: Stack, item_id: int) -> tuple[str, int | None]:
    async with stack.sessions() as session:
        item = await session.get(ReviewItem, item_id)
        assert item is not None
        return item.state, item.claimed_by


async def _clean(page: Page, name: str, width: int) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await shot(page, f"{name}-{width}")
    assert await violations(page) == []
    await fits(page, width)


async def test_a_caseworker_assigns_and_dismisses_several_items(
    stack: Stack, browser: Browser
) -> None:
    person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    await add_person(stack.sessions, "ben@alpha.example", {"alpha": "caseworker"})
    items = [
        await add_item(stack.sessions, "alpha", f"message {n}", sender=f"+44770090010{n}")
        for n in range(5)
    ]
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    for width in (1280, 375):
        await _clean(page, "queue-select", width)

    # At 1280 px: two ticked in the table, assigned to Ben.
    await page.set_viewport_size({"width": 1280, "height": 900})
    for item in items[:2]:
        await page.locator(f"#sel-t-{item}").check()
    await page.get_by_label("Assign to a colleague").select_option("ben@alpha.example")
    await page.get_by_role("button", name="Assign selected").click()
    banner = page.get_by_role("alert").filter(has_text="2 assigned")
    await banner.wait_for()
    assert "assigned by ana@alpha.example" in await page.locator("main").inner_text()
    await _clean(page, "queue-assigned", 1280)

    # At 375 px: three ticked on the cards, one of them resolved meanwhile by someone else.
    await page.set_viewport_size({"width": 375, "height": 900})
    for item in items[2:]:
        await page.locator(f"#sel-c-{item}").check()
    async with stack.sessions.begin() as session:
        await session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == items[3])
            .values(state=ReviewState.RESOLVED, decision="confirm")
        )
    await page.get_by_label("Reason for dismissing").fill("Duplicates of one another")
    await page.get_by_role("button", name="Dismiss selected").click()
    words = f"2 dismissed; 1 not changed: item #{items[3]} was already resolved"
    await page.get_by_role("alert").filter(has_text=words).wait_for()
    await _clean(page, "queue-dismissed", 375)
    assert [(await _state(stack, item))[0] for item in items] == [
        ReviewState.CLAIMED,
        ReviewState.CLAIMED,
        ReviewState.DISMISSED,
        ReviewState.RESOLVED,
        ReviewState.DISMISSED,
    ]


async def test_a_lapsed_claim_is_tagged_on_the_queue(stack: Stack, browser: Browser) -> None:
    person = await add_person(stack.sessions, "cy@alpha.example", {"alpha": "caseworker"})
    item = await add_item(stack.sessions, "alpha", "any news?")
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    await page.goto(stack.base_url + f"/review/items/{item}")
    await page.get_by_role("button", name="Claim").first.click()
    async with stack.sessions.begin() as session:
        await session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == item)
            .values(touched_at=datetime.now(UTC) - timedelta(minutes=16))
        )
    await page.goto(stack.base_url + "/review/")
    await page.get_by_text("released: not touched for 15 min").first.wait_for()
    assert (await _state(stack, item))[0] == ReviewState.OPEN
    for width in (1280, 375):
        await _clean(page, "queue-released", width)
