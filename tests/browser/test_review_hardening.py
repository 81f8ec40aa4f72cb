"""Hostile message text in a real browser (issue 13): a right-to-left override must not reverse
the page's own words beside it, and one 5,000-character word must not make a page wider than
the screen. Debian's Chromium, headless, at a phone's width and a desktop's."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.browser.test_review_browser import shot, sign_in
from tests.integration.conftest import Stack
from tests.support.browser import ARTIFACTS, Person, add_item, add_person

NUMBER = "+447700900001"
SENDER = "+447700900555"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: everything after it, to the paragraph's end, reversed
LONG_WORD = "A" * 5000
WIDTHS = [375, 1280]

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def shots(page: Page, name: str) -> None:
    """The whole page (to tests/artifacts), and what the screen shows first (to look at)."""
    await shot(page, name)
    await page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))


async def signed_in_page(browser: Browser, stack: Stack, person: Person, width: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await sign_in(page, stack.base_url, person)
    return page


# The left edges of an element's first and last characters, as laid out.
EDGES = """
(element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) { if (walker.currentNode.data.trim()) nodes.push(walker.currentNode); }
  const first = nodes[0], last = nodes[nodes.length - 1];
  const start = first.data.search(/\\S/), end = last.data.trimEnd().length - 1;
  const edge = (node, offset) => {
    const range = document.createRange();
    range.setStart(node, offset);
    range.setEnd(node, offset + 1);
    return range.getBoundingClientRect().left;
  };
  return [edge(first, start), edge(last, end)];
}
"""


async def reads_left_to_right(page: Page, selector: str) -> bool:
    """True when the element's first character is laid out left of its last."""
    first, last = await page.locator(selector).first.evaluate(EDGES)
    return bool(first < last)


async def page_width(page: Page) -> tuple[int, int]:
    """(the document's scroll width, the viewport's width)."""
    width, viewport = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return int(width), int(viewport)


async def hostile_item(stack: Stack) -> int:
    """An item whose sender wrote twice: a right-to-left override, then one very long word."""
    await add_item(stack.sessions, "alpha", f"Thanks {RLO}see you at 3", sender=SENDER)
    return await add_item(stack.sessions, "alpha", f"ref {LONG_WORD} end", sender=SENDER)


async def test_a_right_to_left_override_in_a_message_leaves_the_labels_beside_it_alone(
    stack: Stack, browser: Browser
) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    item = await hostile_item(stack)
    page = await signed_in_page(browser, stack, person, 1280)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_label("Add a note").fill(f"called {RLO}no answer")
    await page.get_by_role("button", name="Add note").click()
    await page.get_by_role("alert").filter(has_text="Done: note added").wait_for()
    await shots(page, "hostile-item-1280")
    earlier = page.locator(".thread li.received:not([aria-current])")
    for part, name in ((earlier, "rlo-message"), (page.locator(".notes"), "rlo-note")):
        await part.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    # In the conversation, the page's words after the overridden message (the link to its
    # item) still read left to right, and so does the heading before it.
    fate = earlier.locator(".fate")
    assert (await fate.inner_text()).strip().startswith("Item #")
    assert await reads_left_to_right(page, ".thread li.received:not([aria-current]) .fate")
    assert await reads_left_to_right(page, ".thread li.received:not([aria-current]) .when")
    # The message itself is isolated in an element of its own, its direction its own.
    isolated = earlier.locator(".said bdi")
    assert (await isolated.inner_text()).startswith("Thanks")
    # The note's author, before its overridden text, reads left to right too.
    assert await reads_left_to_right(page, ".notes li .when")
    # Text the page says after a message, e.g. the reply form's count, is unaffected.
    assert await reads_left_to_right(page, "#reply-count")


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_five_thousand_character_word_wraps_within_the_screen(
    stack: Stack, browser: Browser, width: int
) -> None:
    person = await add_person(stack.sessions, f"case{width}@alpha.example", {"alpha": "caseworker"})
    item = await hostile_item(stack)
    page = await signed_in_page(browser, stack, person, width)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_label("Add a note").fill(f"see {LONG_WORD}")
    await page.get_by_role("button", name="Add note").click()
    await page.get_by_role("alert").filter(has_text="Done: note added").wait_for()
    await page.get_by_label("Why no action is needed").fill(LONG_WORD[:500])
    await page.get_by_role("button", name="Dismiss").click()
    await page.get_by_role("alert").filter(has_text="Done: dismissed").wait_for()
    await shots(page, f"long-word-item-{width}")
    scroll, viewport = await page_width(page)
    assert scroll <= viewport, f"item page {scroll} px wide in a {viewport} px window"

    await page.goto(f"{stack.base_url}/review/?state=dismissed")
    await page.get_by_role("link", name=f"#{item}").wait_for()
    await shots(page, f"long-word-queue-{width}")
    scroll, viewport = await page_width(page)
    assert scroll <= viewport, f"queue {scroll} px wide in a {viewport} px window"


async def test_the_reply_form_states_its_limits_and_the_refusal_says_when(
    stack: Stack, browser: Browser
) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    item = await add_item(stack.sessions, "alpha", "can you call me?", sender=SENDER)
    page = await signed_in_page(browser, stack, person, 375)
    await page.goto(f"{stack.base_url}/review/items/{item}")
    await page.get_by_role("button", name="Claim").click()
    for n in range(5):
        await page.get_by_label("Text to send").fill(f"We will call you today ({n})")
        await page.get_by_role("button", name="Send reply").click()
        await page.get_by_role("alert").filter(has_text="Done: reply queued").wait_for()
    await shots(page, "reply-capped-375")
    refusal = await page.locator("#reply-refusal").inner_text()
    assert "this number has had 5 texts from the service in the last hour" in refusal
    assert "you can reply again at" in refusal
    assert await page.get_by_label("Text to send").count() == 0
    scroll, viewport = await page_width(page)
    assert scroll <= viewport
