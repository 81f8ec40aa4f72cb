"""Pages in Chromium for the browser tests: one signed in, and one checked at each width."""

from __future__ import annotations

from collections.abc import Sequence

from playwright.async_api import Browser, Page

from tests.browser.test_every_page_axe import axe_violations, overflow
from tests.browser.test_review_browser import shot, sign_in
from tests.support.browser import Person

WIDTHS = (1280, 375, 320)


async def signed_in_page(browser: Browser, base_url: str, person: Person) -> Page:
    """A page of a new browser context, signed in as `person`, 1280 px wide."""
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, base_url, person)
    return page


async def checked_at_widths(page: Page, name: str, widths: Sequence[int] = WIDTHS) -> None:
    """At each width: a screenshot (tests/artifacts/{name}-{width}.png), no axe-core
    violation, nothing scrolling sideways; then back to 1280 px."""
    for width in widths:
        await page.set_viewport_size({"width": width, "height": 900})
        await shot(page, f"{name}-{width}")
        assert await axe_violations(page) == [], (name, width)
        assert await overflow(page) == [], (name, width)
    await page.set_viewport_size({"width": 1280, "height": 900})
