"""The team page in Chromium at 1280, 375 and 320 px: a service admin invites someone (the
password shown once, focus on the success banner), changes a role, disables with a confirming
step, meets the last-admin refusal in the error summary; axe-core finds no violation of any
impact and nothing is wider than the window."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from tests.browser.test_review_browser import shot, sign_in
from tests.browser.test_undelivered_browser import fits, violations
from tests.integration.conftest import Stack
from tests.support.browser import add_person

WIDTHS = (1280, 375, 320)
TEAM = "/review/services/alpha/team"


async def checked(page: Page, name: str) -> None:
    """At each width: a screenshot, no axe-core violation, nothing scrolling sideways."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await shot(page, f"team-{name}-{width}")
        assert await violations(page) == [], name
        await fits(page, width)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def banner_has_focus(page: Page) -> bool:
    # govuk-frontend moves focus to a success banner, so a screen reader hears it first.
    focused: bool = await page.evaluate(
        "document.activeElement !== null && document.activeElement.classList.contains("
        "'govuk-notification-banner')"
    )
    return focused


async def test_a_service_admin_manages_their_team(stack: Stack, browser: Browser) -> None:
    lead = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    await add_person(
        stack.sessions, "ana.longer-name@alpha-council.example", {"alpha": "caseworker"}
    )
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, lead)
    await page.goto(stack.base_url + "/review/team")
    await page.get_by_role("heading", name="Your team").wait_for()
    await checked(page, "list")

    # Invite: nothing typed is an error summary linked to the field.
    await page.get_by_role("link", name="Invite someone").click()
    await page.get_by_role("button", name="Invite").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    assert "Enter their email address" in await summary.inner_text()
    await checked(page, "invite-error")
    await page.get_by_role("link", name="Enter their email address").click()
    assert await page.evaluate("document.activeElement.id") == "email"
    await page.get_by_label("Email address").fill("new@alpha.example")
    await page.get_by_label("Caseworker").check()
    await page.get_by_role("button", name="Invite").click()
    await page.get_by_text("new@alpha.example is in the team as a caseworker").wait_for()
    assert await banner_has_focus(page)
    assert len(await page.locator("#initial-password").inner_text()) >= 16
    await checked(page, "invited")

    # Change a role: radios, then the success banner on the list.
    await page.goto(stack.base_url + TEAM)
    await page.get_by_role("link", name="Change role of new@alpha.example").click()
    await page.get_by_label("Service admin").check()
    await checked(page, "role")
    await page.get_by_role("button", name="Save role").click()
    await page.get_by_text("new@alpha.example is now a service admin.").wait_for()
    assert await banner_has_focus(page)

    # Disable: a confirming page with a warning button.
    await page.get_by_role("link", name="Disable ana.longer-name@alpha-council.example").click()
    confirm = page.get_by_role("button", name="Disable account")
    assert "govuk-button--warning" in (await confirm.get_attribute("class") or "")
    await checked(page, "disable")
    await confirm.click()
    await page.get_by_text("ana.longer-name@alpha-council.example is disabled").wait_for()
    assert await banner_has_focus(page)
    await checked(page, "after-disable")

    # The last-admin rule: demote new@ back, then lead is the only admin again.
    await page.get_by_role("link", name="Change role of new@alpha.example").click()
    await page.get_by_label("Caseworker").check()
    await page.get_by_role("button", name="Save role").click()
    await page.get_by_role("link", name="Change role of lead@alpha.example").click()
    await page.get_by_label("Caseworker").check()
    await page.get_by_role("button", name="Save role").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    assert "You are the only active service admin of alpha" in await summary.inner_text()
    await checked(page, "last-admin")
