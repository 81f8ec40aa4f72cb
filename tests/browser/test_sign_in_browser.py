"""Signing in with Debian's Chromium at a desktop and a phone width: enrolling two-factor from
the page, and being told how long to wait after too many failures (issue 13)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import Browser, Page

from inbound.config import Settings
from tests.integration.conftest import Stack
from tests.integration.sign_in_support import caseworker, review_stack
from tests.support.browser import ARTIFACTS, AXE, PASSWORD

WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    async with review_stack(settings, tmp_path, sign_in_limit=1) as started:
        yield started


async def page_at(browser: Browser, width: int) -> Page:
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(bypass_csp=True, viewport={"width": width, "height": 800})
    return await context.new_page()


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v["impact"] in {"serious", "critical"}]


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def fits(page: Page) -> bool:
    """Nothing wider than the window: no sideways scrolling."""
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_a_newcomer_enrols_two_factor_and_signs_in(
    stack: Stack, browser: Browser, size: str
) -> None:
    person = await caseworker(stack, f"new-{size}@alpha.example", enrolled=False)
    page = await page_at(browser, WIDTHS[size])
    await page.goto(stack.base_url + "/review/sign-in")
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Set up two-factor sign-in").wait_for()
    await page.wait_for_load_state("load")  # the QR code is an image of its own
    qr = page.get_by_role("img", name="QR code of your two-factor key")
    assert await qr.evaluate("image => image.complete && image.naturalWidth > 0")
    await shot(page, f"enrol-{size}")
    assert await fits(page)
    assert await serious_violations(page) == []
    key = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    await page.get_by_label("6-digit code the app shows").fill(pyotp.TOTP(key).now())
    await page.get_by_role("button", name="Confirm and sign in").click()
    await page.get_by_role("heading", name="Review queue").wait_for()


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_after_too_many_failures_the_page_says_how_long_to_wait(
    stack: Stack, browser: Browser, size: str
) -> None:
    person = await caseworker(stack, f"case-{size}@alpha.example")
    page = await page_at(browser, WIDTHS[size])
    for password in ("wrong", PASSWORD):
        await page.goto(stack.base_url + "/review/sign-in")
        await page.get_by_label("Email address").fill(person.email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Continue").click()
    alert = page.get_by_role("alert")
    assert await alert.inner_text() == "Too many failed sign-ins. Wait 30 seconds, then try again."
    assert await fits(page)
    assert await serious_violations(page) == []
    await shot(page, f"sign-in-throttled-{size}")
