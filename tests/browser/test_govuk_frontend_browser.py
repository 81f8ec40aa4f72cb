"""The review pages on the GOV.UK Design System's own assets (`make assets`), under the strict
CSP: its stylesheet loads (without the GOV.UK-only font), its JavaScript runs as a module,
nothing is refused."""

from __future__ import annotations

from playwright.async_api import Browser, ConsoleMessage, Response

from tests.browser.test_review_browser import sign_in
from tests.integration.conftest import Stack
from tests.support.browser import add_person


async def test_the_pages_load_govuk_frontend_under_the_strict_csp(
    stack: Stack, browser: Browser
) -> None:
    person = await add_person(stack.sessions, "assets@alpha.example", {"alpha": "caseworker"})
    page = await (await browser.new_context(viewport={"width": 375, "height": 800})).new_page()
    errors: list[str] = []
    refused: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # The browser's own guess at /favicon.ico is outside the pages and not theirs to answer.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location['url']}")

    def response(answer: Response) -> None:
        if answer.status >= 400:
            refused.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    await sign_in(page, stack.base_url, person)
    await page.evaluate("document.fonts.ready")

    body = await page.evaluate("document.body.className")
    assert {"govuk-template__body", "js-enabled", "govuk-frontend-supported"} <= set(body.split())
    # initAll() ran: the service navigation's menu button is set up and shown on a phone.
    nav = page.locator("[data-module=govuk-service-navigation]")
    assert await nav.get_attribute("data-govuk-service-navigation-init") == ""
    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("button", name="Sign out").wait_for()
    heading = page.get_by_role("heading", name="Review queue")
    # GDS Transport is licensed for GOV.UK's own domains only: make assets leaves it out, and
    # the pages use the Design System's fallback stack, with no font requested at all.
    family = await heading.evaluate("e => getComputedStyle(e).fontFamily")
    assert family == "arial, sans-serif"
    assert await page.evaluate("[...document.fonts].map(f => f.family)") == []
    assert refused == []
    assert errors == []
