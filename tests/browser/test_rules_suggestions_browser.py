"""The rule suggestions page in Chromium at 1280, 375 and 320 px (issue 18): from the rules page to
the suggestions, one click adds a keyword to a new draft and lands on the draft's page; in a
bilingual service the language is asked for (the error summary leads to the radios); rules in
files show the lines to write. axe-core finds no violation and nothing scrolls sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from inbound.config import Settings
from inbound.store.models import RuleVersion
from tests.browser.test_review_browser import shot
from tests.integration.test_rules_suggestions_page import Site, suggestions_site
from tests.support.browser import add_person
from tests.support.pages import checked_at_widths, signed_in_page


@pytest.fixture
async def site(settings: Settings, tmp_path: Path) -> AsyncIterator[Site]:
    async with suggestions_site(settings, tmp_path) as started:
        yield started


async def checked(page: Page, name: str) -> None:
    await checked_at_widths(page, f"rules-suggestions-{name}")


async def test_one_click_adds_a_suggestion_to_a_draft(site: Site, browser: Browser) -> None:
    await site.decided("appointments", ("See you then", "see you then!", "SEE YOU THEN"), "confirm")
    await site.decided("appointments", ("nope", "Nope.", "NOPE"), "cancel")
    await site.decided("bins", ("Iawn diolch", "iawn diolch", "IAWN DIOLCH!"), "confirm")
    await site.decided(
        "street-reports", ("All good now", "all good now!", "ALL GOOD NOW"), "feedback"
    )
    # Not the fixture's admin, already signed in over HTTP: a TOTP code is taken once.
    services = ("appointments", "bins", "street-reports", "food-bank")
    lead = await add_person(
        site.stack.sessions, "jo@council.example", dict.fromkeys(services, "service_admin")
    )
    page = await signed_in_page(browser, site.stack.base_url, lead)
    base = site.stack.base_url + "/review/services/"

    await page.goto(base + "appointments/rules")
    await page.get_by_role("link", name="Suggested keywords").click()
    await page.get_by_role("heading", name="Suggested keywords").wait_for()
    assert await page.get_by_text("Add “see you then” to rule 'confirm' (confirm)").count() == 1
    await checked(page, "appointments")

    versions = await site.count(RuleVersion)
    await page.get_by_role("button", name="Add to a draft “see you then”").click()
    await page.wait_for_url("**/rules/drafts/*")
    draft = int(page.url.split("/drafts/")[1].split("?")[0])
    assert "see you then]" in await site.draft_yaml(draft)
    assert await site.count(RuleVersion) == versions  # never published
    banner = page.locator(".govuk-notification-banner")
    await banner.get_by_text("“see you then” added to rule ‘confirm’").wait_for()
    await shot(page, "rules-suggestions-added-1280")

    # A bilingual rule: nothing chosen is an error that leads to the radios; then Welsh.
    await page.goto(base + "bins/rules/suggestions")
    await page.get_by_role("button", name="Add to a draft “iawn diolch”").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    await checked(page, "language-error")
    await summary.get_by_role(
        "link", name="Choose the language “iawn diolch” is written in"
    ).click()
    assert await page.evaluate("document.activeElement.id") == "language-1"
    await page.get_by_label("Welsh (cy)").check()
    await page.get_by_role("button", name="Add to a draft “iawn diolch”").click()
    await page.wait_for_url("**/rules/drafts/*")
    draft = int(page.url.split("/drafts/")[1].split("?")[0])
    assert "cadarnhau, iawn diolch]" in await site.draft_yaml(draft)

    # Rules in files: the lines to write, no button.
    await page.goto(base + "street-reports/rules/suggestions")
    await page.get_by_text("Replace line 53:").wait_for()
    assert await page.get_by_role("button", name="Add to a draft").count() == 0
    await checked(page, "files")

    # No decisions yet: the page says what makes a suggestion.
    await page.goto(base + "food-bank/rules/suggestions")
    await page.get_by_role("heading", name="No suggestions yet").wait_for()
    await checked(page, "none")
    await page.context.close()
