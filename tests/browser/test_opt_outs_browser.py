"""The opt-out register in Chromium at 1280, 375 and 320 px: a service admin finds it from the
navigation, pages through it, searches (a number that can't be one is an error summary linked to
the field), opts a number back in with a reason through the check page, and the success banner
takes focus; a caseworker sees the list without "Opt back in". axe-core finds no violation of any
impact and nothing is wider than the window; screenshots tests/artifacts/opt-outs-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page
from sqlalchemy import select

from inbound.store.models import OptOut
from tests.browser.test_review_browser import shot, sign_in
from tests.browser.test_team_browser import banner_has_focus
from tests.browser.test_undelivered_browser import fits, violations
from tests.integration.conftest import Stack
from tests.support.browser import add_person

WIDTHS = (1280, 375, 320)
REGISTER = "/review/services/alpha/opt-outs"
NUMBER = "+447700900123"
BANNER_FOCUSED = (
    "() => document.activeElement?.classList.contains('govuk-notification-banner') === true"
)


async def checked(page: Page, name: str) -> None:
    """At each width: a screenshot, no axe-core violation, nothing scrolling sideways."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await shot(page, f"opt-outs-{name}-{width}")
        assert await violations(page) == [], name
        await fits(page, width)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def seed(stack: Stack) -> None:
    """60 numbers opted out of alpha over the last days, NUMBER the newest."""
    now = datetime.now(UTC)
    async with stack.sessions.begin() as session:
        for n in range(59):
            when = now - timedelta(hours=2 + n)
            session.add(OptOut(service_id="alpha", number=f"+4477009{n:05d}", opted_out_at=when))
        session.add(OptOut(service_id="alpha", number=NUMBER, opted_out_at=now))


async def on_register(stack: Stack, number: str) -> bool:
    async with stack.sessions() as session:
        found = await session.scalar(select(OptOut.id).where(OptOut.number == number))
        return found is not None


async def focused_id(page: Page) -> str:
    found: str = await page.evaluate("document.activeElement.id")
    return found


async def test_a_service_admin_searches_and_opts_a_number_back_in(
    stack: Stack, browser: Browser
) -> None:
    await seed(stack)
    lead = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, lead)
    await page.get_by_role("link", name="Opt-outs").click()
    await page.get_by_role("heading", name="Numbers that opted out").wait_for()
    assert page.url.endswith(REGISTER)
    assert NUMBER not in await page.content()
    await checked(page, "list")
    await page.get_by_role("link", name="Next page").click()
    await page.get_by_role("link", name="Page 2").and_(page.locator("[aria-current]")).wait_for()
    await checked(page, "page-2")

    # Something that can't be a number: the error summary, its link to the field.
    await page.get_by_label("Search by phone number").fill("call me")
    await page.get_by_role("button", name="Search").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    await checked(page, "search-error")
    await page.get_by_role("link", name="Enter a phone number, like 07700 900123").click()
    assert await focused_id(page) == "number"

    # As people write it: found, in the service's region.
    await page.get_by_label("Search by phone number").fill("07700 900123")
    await page.get_by_role("button", name="Search").click()
    result = page.locator("#search-result")
    await result.wait_for()
    assert "+447700900123 opted out of Service alpha" in await result.inner_text()
    await checked(page, "found")

    # Opt back in: a reason is needed, then the check page, then the banner with focus.
    await result.get_by_role("link", name="Opt back in").click()
    await page.get_by_role("button", name="Continue").click()
    await summary.wait_for()
    await checked(page, "reason-error")
    await page.get_by_role("link", name="Enter why this number is being opted back in").click()
    assert await focused_id(page) == "reason"
    await page.get_by_label("Why are you opting this number back in?").fill(
        "Phoned on 3 March and asked for appointment reminders again"
    )
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Check before you opt this number back in").wait_for()
    assert "will be able to text this number again" in await page.locator("main").inner_text()
    await checked(page, "check")
    assert await on_register(stack, NUMBER)
    await page.get_by_role("button", name="Opt back in").click()
    await page.get_by_text("The number is opted back in.").wait_for()
    # govuk-frontend focuses the banner once its module script has run.
    await page.wait_for_function(BANNER_FOCUSED, timeout=5000)
    assert await banner_has_focus(page)
    assert not await on_register(stack, NUMBER)
    await checked(page, "done")
    await context.close()


async def test_a_caseworker_sees_the_register_without_opt_back_in(
    stack: Stack, browser: Browser
) -> None:
    await seed(stack)
    ana = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, ana)
    await page.get_by_role("link", name="Opt-outs").click()
    await page.get_by_text("Only the service's admins can opt a number back in.").wait_for()
    assert await page.get_by_role("link", name="Opt back in").count() == 0
    await checked(page, "caseworker")
    await context.close()
