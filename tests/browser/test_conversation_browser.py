"""The conversation on the item page, and the prompt reference in the queue, in a real browser
(Debian's Chromium, headless, Playwright): at a phone's width and a desktop's, by keyboard, with
the strict CSP in force and no serious axe violation."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page

from inbound.store.users import Users
from tests.browser.test_review_browser import serious_violations, sign_in
from tests.integration.conftest import Stack
from tests.support.browser import ARTIFACTS, add_person
from tests.support.conversations import REMINDER, Seeded, seed_conversation

NUMBER = "+447700900001"  # alpha's number

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def seeded(stack: Stack, email: str) -> Seeded:
    await add_person(stack.sessions, email, {"alpha": "caseworker"})
    async with stack.sessions() as session:
        user = await Users(session).by_email(email)
    assert user is not None
    return await seed_conversation(stack.sessions, "alpha", NUMBER, caseworker_id=user.id)


async def page_width(page: Page) -> tuple[int, int]:
    width, viewport = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return int(width), int(viewport)


async def tab_to(page: Page, name: str, most: int = 80) -> None:
    """Press Tab until the focused element's text is `name` (a keyboard user's way there)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("() => document.activeElement.textContent.trim()")
        if focused == name:
            return
    raise AssertionError(f"{name!r} is not reachable by Tab")


@pytest.mark.parametrize("width", [1280, 375])
async def test_the_item_page_shows_the_conversation_and_the_open_prompts(
    stack: Stack, browser: Browser, width: int
) -> None:
    person = await add_person(
        stack.sessions, f"reader{width}@alpha.example", {"alpha": "caseworker"}
    )
    seed = await seeded(stack, f"case{width}@alpha.example")
    # axe is injected as a script, which the CSP rightly forbids: only axe's run bypasses it,
    # in a context of its own; the page itself is checked under the CSP below.
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    refused: list[str] = []

    def csp(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", csp)
    await sign_in(page, stack.base_url, person)

    # The queue: the item says which reminder it concerns (a table row, or on a phone a card).
    shown = page.locator("tr, .govuk-summary-card")
    row = shown.filter(has=page.get_by_role("link", name=f"#{seed.item}"))
    assert "ref appt-9001" in await row.inner_text()
    await page.screenshot(path=str(ARTIFACTS / f"conversation-queue-{width}.png"), full_page=True)
    scroll, viewport = await page_width(page)
    assert scroll <= viewport, f"queue {scroll} px wide in a {viewport} px window"

    # By keyboard, from the queue to the item.
    await tab_to(page, f"#{seed.item}" if width > 768 else f"Open (Item #{seed.item})")
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=f"Item #{seed.item}").wait_for()

    waiting = page.locator("#open-prompts")
    text = await waiting.inner_text()
    assert "appt-9001 expects cancel, change or confirm" in text
    assert "answers count until" in text
    assert "appt-8812" not in text  # answered: no longer waiting

    thread = page.locator(".thread > li")
    heads = [line.split("\n")[0] for line in await thread.all_inner_texts()]
    assert [head.split("  ")[0] for head in heads] == heads  # one line each
    said = await thread.all_inner_texts()
    expected = [
        ("Received", "who is this?"),
        (f"Reply by case{width}@alpha.example", "delivered"),
        (f"Dismissed by case{width}@alpha.example", "answered by text"),
        ("Reminder sent", REMINDER),
        ("Received", "YES"),
        ("Outcome: confirm", "ref appt-8812"),
        ("Automatic reply (rule confirm)", "Thanks, see you then."),
        ("Reminder sent", "(text not stored)"),
        ("Received: this item", "Yes but can I change the time?"),
    ]
    assert len(said) == len(expected), said
    for line, (head, words) in zip(said, expected, strict=True):
        assert line.startswith(head), (line, head)
        assert words in line, (line, words)
    current = page.locator(".thread > li[aria-current]")
    assert "ref appt-9001" in await current.inner_text()
    await page.screenshot(path=str(ARTIFACTS / f"conversation-item-{width}.png"), full_page=True)
    scroll, viewport = await page_width(page)
    assert scroll <= viewport, f"item page {scroll} px wide in a {viewport} px window"

    # By keyboard, from the thread to the earlier item it links.
    await tab_to(page, f"Item #{seed.earlier_item}")
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=f"Item #{seed.earlier_item}").wait_for()
    assert refused == []

    # The same session (a second sign-in could reuse the one-time code within its 30 s).
    checking = await browser.new_context(
        bypass_csp=True,
        viewport={"width": width, "height": 900},
        storage_state=await context.storage_state(),
    )
    checked = await checking.new_page()
    await checked.goto(f"{stack.base_url}/review/items/{seed.item}")
    assert await serious_violations(checked) == []
