"""Deciding an item in Chromium at 1280 and 375 px: nothing chosen for the caseworker, the GOV.UK
error summary when nothing is chosen, the check page, the success banner taking focus, undo,
and "Save and go to next item".
Screenshots go to tests/artifacts/decide-<width>-<step>.png."""

from __future__ import annotations

import contextlib

import pytest
from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.browser.test_review_browser import serious_violations, sign_in
from tests.integration.conftest import Stack
from tests.support.browser import ARTIFACTS, add_item, add_person
from tests.support.fake_service import FakeService


async def shot(page: Page, width: int, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"decide-{width}-{step}.png"), full_page=True)


async def fits(page: Page) -> None:
    scroll, window = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll <= window, f"{page.url} is {scroll} px wide in a {window} px window"


async def focused_class(page: Page, wanted: str) -> str:
    """The focused element's class, once it has `wanted` (govuk-frontend's modules move focus
    after the page loads); the last one seen when that doesn't happen within 5 s."""
    script = "(wanted) => document.activeElement.classList.contains(wanted)"
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(script, arg=wanted, timeout=5000)
    return str(await page.evaluate("() => document.activeElement.className"))


@pytest.mark.parametrize("width", [1280, 375])
async def test_choose_check_confirm_and_undo_a_decision(
    stack: Stack, browser: Browser, callbacks: FakeService, width: int
) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    item = await add_item(stack.sessions, "alpha", "Yes but can I change the time?")
    following = await add_item(stack.sessions, "alpha", "who is this?", sender="+447700900555")
    # axe is injected as a script, which the CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_role("alert").filter(has_text="Done: claimed").wait_for()

    # Nothing is chosen: the radios are the service's own actions in words.
    radios = page.get_by_role("radio")
    assert await radios.count() == 5  # confirm, cancel, opt_out, opt_in (alpha's rules), none
    for index in range(await radios.count()):
        assert not await radios.nth(index).is_checked()
    await page.get_by_label("Confirm the appointment").wait_for()
    await page.get_by_label("No action needed").wait_for()

    # Continue with nothing chosen: the error summary, focused, linking to the radios.
    await page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    assert "govuk-error-summary" in await focused_class(page, "govuk-error-summary")
    await shot(page, width, "1-nothing-chosen")
    assert await serious_violations(page) == []
    await fits(page)
    await summary.get_by_role("link", name="Select what to do with this reply").click()
    assert await page.evaluate("() => document.activeElement.id") == "decision"

    # Choose, then check what will happen before it happens.
    await page.get_by_label("Confirm the appointment").check()
    await page.get_by_label("Details (optional)").fill("Asked to move to 3pm")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Check your decision").wait_for()
    said = await page.locator("#consequences").inner_text()
    assert "inbound will tell Service alpha that the appointment is confirmed." in said
    await shot(page, width, "2-check")
    assert await serious_violations(page) == []
    await fits(page)
    assert callbacks.received == []

    # Confirm: the success banner takes focus, offering undo.
    await page.get_by_role("button", name="Confirm decision").click()
    banner = page.get_by_role("alert").filter(has_text="Decision recorded")
    await banner.wait_for()
    assert "govuk-notification-banner" in await focused_class(page, "govuk-notification-banner")
    assert "Confirm the appointment" in await banner.inner_text()
    await shot(page, width, "3-decided")
    assert await serious_violations(page) == []
    await fits(page)

    # Undo: the item is the caseworker's again, with nothing chosen and nothing sent.
    await banner.get_by_role("button", name="Undo").click()
    undone = page.get_by_role("alert").filter(has_text="Undone")
    await undone.wait_for()
    assert "govuk-notification-banner" in await focused_class(page, "govuk-notification-banner")
    radios = page.get_by_role("radio")
    for index in range(await radios.count()):
        assert not await radios.nth(index).is_checked()
    await shot(page, width, "4-undone")
    assert await serious_violations(page) == []
    await fits(page)
    assert callbacks.received == []

    # "No action needed" sends nothing: "Save and go to next item" goes straight on.
    await page.get_by_label("No action needed").check()
    await page.get_by_role("button", name="Save and go to next item").click()
    moved = page.get_by_role("alert").filter(has_text="This is the next open item")
    await moved.wait_for()
    assert page.url.startswith(f"{stack.base_url}/review/items/{following}?")
    assert "govuk-notification-banner" in await focused_class(page, "govuk-notification-banner")
    await shot(page, width, "5-next")
    assert await serious_violations(page) == []
    await fits(page)
    await context.close()
