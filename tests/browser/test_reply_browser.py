"""Replying on the item page in Chromium at 1280 and 375 px: a canned reply picked fills the
text box, the character count and the number of texts follow the typing (the same rules as the
server's), and "Decide and reply" goes through the check page to a banner naming both. axe-core
finds no violations of any impact; nothing scrolls sideways.
Screenshots go to tests/artifacts/reply-<width>-<step>.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from inbound.config import Settings
from inbound.review.decisions import reply_length
from tests.browser.test_review_browser import sign_in
from tests.integration.conftest import Stack, running_stack
from tests.support.browser import ARTIFACTS, AXE, add_item, add_person

NUMBER, BETA = "+447700900001", "+447700900002"
RULES = f"""
service:
  id: alpha
  name: Riverside Surgery
  region: GB
  numbers: ["{NUMBER}"]
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
  - name: cancel
    keywords: [cancel]
    action: cancel
replies:
  - name: Call us
    text: "Please call {{service}} on 01632 960000."
  - name: Sorry
    text: "Sorry, we could not read your reply. Please call {{service}}."
"""


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """inbound serving alpha, whose rule file has canned replies."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "alpha.yaml").write_text(RULES)
    only = RULES.replace("alpha", "beta").replace(NUMBER, BETA)
    only = only.replace("Riverside Surgery", "Hillside Clinic")
    (folder / "beta.yaml").write_text(
        only.replace("rules:\n", "  canned_replies_only: true\nrules:\n", 1)
    )
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as started:
        yield started


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page, of any impact."""
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        "async () => (await axe.run(document)).violations"
    )
    return [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in found]


async def checked(page: Page, width: int, step: str) -> None:
    """Screenshot, axe and no sideways scrolling, at one step."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"reply-{width}-{step}.png"), full_page=True)
    assert await violations(page) == [], step
    scroll, window = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll <= window, f"{step}: {scroll} px wide in a {window} px window"


# The module's rules against the server's, on texts either side of each limit.
SAMPLES = ["", "a" * 160, "a" * 161, "€" * 80, "€" * 81, "a" * 70 + "ŵ", "👍" * 35, "👍" * 36]


@pytest.mark.parametrize("width", [1280, 375])
async def test_reply_with_a_canned_text_and_decide_and_reply_in_one_step(
    stack: Stack, browser: Browser, width: int
) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    item = await add_item(stack.sessions, "alpha", "Yes but can I change the time?")
    # axe is injected as a script, which the CSP rightly forbids: only this context bypasses it.
    context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_role("alert").filter(has_text="Done: claimed").wait_for()

    # The reply box: govuk-frontend's character count, and the texts it goes as.
    box = page.locator("#reply-text")
    segments = page.locator("#reply-text-segments")
    assert await segments.inner_text() == reply_length("")
    for text in SAMPLES:
        said = await page.evaluate(
            "async (t) => (await import('/review/static/sms-segments.js')).describe(t)", text
        )
        assert said == reply_length(text), text

    # Picking a canned reply fills the box; the counts follow.
    await page.locator("#canned").check()
    filled = "Please call Riverside Surgery on 01632 960000."
    assert await box.input_value() == filled
    assert await segments.inner_text() == reply_length(filled)
    count = page.locator("#reply-text-info + .govuk-character-count__status")
    await count.filter(has_text=f"{918 - len(filled)} characters remaining").wait_for()
    await checked(page, width, "1-canned-picked")

    # Typing a character outside the basic alphabet: the line says so at once.
    await box.fill(filled + " Diolch yn fawr, ŵ" + "a" * 60)
    assert await segments.inner_text() == reply_length(await box.input_value())
    assert "'ŵ' is outside the basic SMS alphabet" in await segments.inner_text()
    assert (await segments.inner_text()).startswith("Sends as 2 texts.")
    await checked(page, width, "2-typed-ucs2")

    await page.get_by_role("button", name="Send reply").click()
    await page.get_by_role("alert").filter(has_text="reply queued").wait_for()

    # Decide and reply: one form, the check page showing the reply, one confirmation.
    await page.get_by_text("Decide and reply: send a text with this decision").click()
    await page.get_by_label("Cancel the appointment").check()
    await page.locator("#decide-canned-2").check()
    assert (await page.locator("#decide-reply-text").input_value()).startswith("Sorry, we")
    await checked(page, width, "3-decide-and-reply")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Check your decision").wait_for()
    assert "Sorry, we could not read your reply" in await page.locator("#check-reply").inner_text()
    await checked(page, width, "4-check")
    await page.get_by_role("button", name="Confirm decision and reply").click()
    banner = page.get_by_role("alert").filter(has_text="Your reply goes with it.")
    await banner.wait_for()
    assert "Cancel the appointment" in await banner.inner_text()
    # Decide first, then reply: the reply form stays for the caseworker who closed it.
    await page.get_by_role("heading", name="Reply by SMS").wait_for()
    await checked(page, width, "5-decided")
    await context.close()


@pytest.mark.parametrize("width", [1280, 375])
async def test_a_service_of_canned_replies_only_offers_no_text_box(
    stack: Stack, browser: Browser, width: int
) -> None:
    person = await add_person(stack.sessions, "case@beta.example", {"beta": "caseworker"})
    item = await add_item(stack.sessions, "beta", "Can I bring my son?", recipient=BETA)
    context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_role("alert").filter(has_text="Done: claimed").wait_for()
    assert await page.locator("textarea#reply-text").count() == 0
    await page.locator("#canned-hint").filter(has_text="sends only these replies").wait_for()
    await page.locator("#canned").check()
    await checked(page, width, "6-canned-only")
    await page.get_by_role("button", name="Send reply").click()
    await page.get_by_role("alert").filter(has_text="reply queued").wait_for()
    assert "Please call Hillside Clinic" in await page.locator(".thread").inner_text()
    await context.close()
