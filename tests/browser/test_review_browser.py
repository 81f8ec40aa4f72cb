"""The review queue in a real browser: Debian's Chromium, headless, driven by Playwright."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pyotp
from playwright.async_api import Browser, Page

from tests.integration.conftest import Stack
from tests.support.browser import (
    ARTIFACTS,
    AXE,
    PASSWORD,
    Person,
    add_item,
    add_person,
)
from tests.support.fake_service import FakeService
from tests.support.waiting import eventually

NUMBER = "+447700900001"


async def sign_in(page: Page, base_url: str, person: Person) -> None:
    await page.goto(base_url + "/review/sign-in")
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Continue").click()
    assert person.totp_secret is not None
    await page.get_by_label("6-digit code").fill(pyotp.TOTP(person.totp_secret).now())
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Review queue").wait_for()


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v["impact"] in {"serious", "critical"}]


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_a_caseworker_works_the_queue_in_a_browser(
    stack: Stack, browser: Browser, callbacks: FakeService
) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    first = await add_item(stack.sessions, "alpha", "yes but can I change the time?")
    second = await add_item(stack.sessions, "alpha", "who is this?", sender="+447700900555")
    # axe is injected as a script, which our CSP rightly forbids: only this context bypasses it.
    page = await (await browser.new_context(bypass_csp=True)).new_page()
    await page.goto(stack.base_url + "/review/sign-in")
    await shot(page, "sign-in")
    await sign_in(page, stack.base_url, person)
    await shot(page, "queue")
    assert await serious_violations(page) == []

    await page.get_by_role("link", name=f"#{first}").click()
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_role("alert").filter(has_text="Done: claim").wait_for()
    await shot(page, "item")
    assert await serious_violations(page) == []
    await page.get_by_label("Confirm the appointment").check()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Check your decision").wait_for()
    await page.get_by_role("button", name="Confirm decision").click()
    await page.get_by_role("alert").filter(has_text="Decision recorded").wait_for()
    # Held for the undo window, then handed over by the sweep.
    await eventually(lambda: _count(callbacks), lambda n: n >= 1, within=60)
    await asyncio.sleep(0.5)
    assert len(callbacks.received) == 1
    assert json.loads(callbacks.received[0].body)["action"] == "confirm"

    await page.goto(f"{stack.base_url}/review/items/{second}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_label("Text to send").fill("This is Riverside Surgery.")
    await page.get_by_role("button", name="Send reply").click()
    await page.get_by_role("alert").filter(has_text="Done: reply").wait_for()
    await page.get_by_label("Why no action is needed").fill("answered by text")
    await page.get_by_role("button", name="Dismiss").click()
    await page.get_by_role("alert").filter(has_text="Done: dismiss").wait_for()
    await shot(page, "item-dismissed")


async def _count(service: FakeService) -> int:
    return len(service.received)


async def test_two_browsers_racing_to_claim_one_item_one_wins(
    stack: Stack, browser: Browser
) -> None:
    people = [
        await add_person(stack.sessions, f"case{n}@alpha.example", {"alpha": "caseworker"})
        for n in (1, 2)
    ]
    item = await add_item(stack.sessions, "alpha", "maybe")
    pages = []
    for person in people:
        page = await (await browser.new_context()).new_page()
        await sign_in(page, stack.base_url, person)
        await page.goto(f"{stack.base_url}/review/items/{item}")
        pages.append(page)
    await asyncio.gather(*(page.get_by_role("button", name="Claim").click() for page in pages))
    outcomes = []
    for page in pages:
        await page.wait_for_load_state()
        text = await page.locator("main").inner_text()
        outcomes.append("Done: claim" in text)
    assert sorted(outcomes) == [False, True]
    loser = pages[outcomes.index(False)]
    assert "someone else has claimed" in await loser.get_by_role("alert").inner_text()
