"""A reference in a named format on the decide form, in Chromium at 1280 and 375 px: the hint
names the format, a wrong one is an error linked to the field, a right one is kept in its normal
form. Screenshots go to tests/artifacts/reference-<width>-<step>.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from inbound.config import Settings
from tests.browser.test_decide_browser import fits
from tests.browser.test_review_browser import serious_violations, sign_in
from tests.integration.conftest import Stack, running_stack
from tests.integration.review_support import ALPHA_NUMBER
from tests.support.browser import ARTIFACTS, add_item, add_person
from tests.support.fake_service import FakeService

RULES = """
service:
  id: alpha
  name: Millbrook street reports
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
    secret_env: INBOUND_TEST_CALLBACK_SECRET
rules:
  - name: report
    keywords: [report]
    match: first
    action: report
    captures:
      reference: postcode
"""


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path, callbacks: FakeService) -> AsyncIterator[Stack]:
    """inbound serving alpha, whose reports capture a postcode."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "alpha.yaml").write_text(RULES.format(number=ALPHA_NUMBER, url=callbacks.url))
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as started:
        yield started


async def shot(page: Page, width: int, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"reference-{width}-{step}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
async def test_a_postcode_reference_is_hinted_refused_and_kept_normalised(
    stack: Stack, browser: Browser, width: int
) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    item = await add_item(stack.sessions, "alpha", "there is a pothole by my house")
    context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_role("alert").filter(has_text="Done: claimed").wait_for()

    field = page.get_by_label("Reference (optional)")
    assert await field.get_attribute("aria-describedby") == "cap-reference-hint"
    assert await page.locator("#cap-reference-hint").inner_text() == (
        "A GB postcode, like SW1A 1AA"
    )

    await page.get_by_label("Pass on the report").check()
    await field.fill("SW1A")
    await page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    link = summary.get_by_role("link", name="enter the reference as a GB postcode, like SW1A 1AA")
    await link.wait_for()
    await shot(page, width, "1-refused")
    assert await serious_violations(page) == []
    await fits(page)
    await link.click()
    assert await page.evaluate("() => document.activeElement.id") == "cap-reference"

    await page.get_by_label("Reference (optional)").fill("sw1a1aa")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Check your decision").wait_for()
    await shot(page, width, "2-check")
    assert "SW1A 1AA" in await page.locator("main").inner_text()
    await context.close()
