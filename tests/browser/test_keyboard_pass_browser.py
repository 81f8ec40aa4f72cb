"""A caseworker who uses only the keyboard (Tab, arrows, typing, Enter) signs in, reaches the
queue, opens the first item, claims it, reaches the reply box, decides and saves and goes to the
next item, in Debian's Chromium at a desktop's width and a phone's; the Tab presses of each step
are counted and bounded (issue 16)."""

from __future__ import annotations

import json

import pyotp
import pytest
from playwright.async_api import Browser, Page

from tests.integration.conftest import Stack
from tests.support.browser import ARTIFACTS, PASSWORD, add_item, add_person

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# What has the focus, as a person would name it: the element, its id, and its words.
FOCUSED = """
() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "";
  const words = (e.getAttribute("aria-label") || e.textContent || "").replace(/\\s+/g, " ");
  return `${e.tagName.toLowerCase()}#${e.id} ${words.trim()}`;
}
"""

# The most Tab presses each step may take. Sign-in and two-factor: skip link, the header's
# link, then the field. The queue: skip link, header, the navigation (or the phone's Menu
# button), the folded filter, then the first item; with the filter's five fields unfolded it
# was 11. The item: the back link, the navigation and the page's links before its Claim button.
MOST = {
    "to the email field": 3,
    "to the code field": 3,
    "to the first item": 8,  # the navigation gained "Opt-outs"
    "to the first item after the skip link": 2,
    "to the Claim button": 8,
    "to the reply box, after claiming": 10,  # issue 16 found 11, focus back at the top
    # From "No action needed": past the captures and "Decide and reply" to the second button.
    "to Save and go to next item": 4,
    "to the next item's Claim button": 4,  # from the banner: its Undo link, then Claim
}


async def tab_until(page: Page, wanted: str, most: int = 60) -> int:
    """Press Tab until the focused element's description contains `wanted`; how many presses."""
    for presses in range(1, most + 1):
        await page.keyboard.press("Tab")
        if wanted in await page.evaluate(FOCUSED):
            return presses
    raise AssertionError(f"{wanted!r} not reached in {most} Tabs")


@pytest.mark.parametrize("width", [1280, 375])
async def test_a_keyboard_user_signs_in_and_reaches_the_first_items_reply_box(
    stack: Stack, browser: Browser, width: int
) -> None:
    person = await add_person(stack.sessions, f"keys{width}@alpha.example", {"alpha": "caseworker"})
    first = await add_item(stack.sessions, "alpha", "yes but can I change the time?")
    second = await add_item(stack.sessions, "alpha", "who is this?", sender="+447700900555")
    page = await (await browser.new_context(viewport={"width": width, "height": 900})).new_page()
    counts: dict[str, int] = {}

    await page.goto(stack.base_url + "/review/sign-in")
    counts["to the email field"] = await tab_until(page, "input#email")
    await page.keyboard.type(person.email)
    await page.keyboard.press("Tab")
    assert (await page.evaluate(FOCUSED)).startswith("input#password")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Enter your security code").wait_for()

    counts["to the code field"] = await tab_until(page, "input#code")
    assert person.totp_secret is not None
    await page.keyboard.type(pyotp.TOTP(person.totp_secret).now())
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Review queue").wait_for()

    # The first item is the oldest: #first, a link in the table or a card's "Open".
    link = f"a# {'#' if width > 768 else 'Open (Item #'}{first}"
    counts["to the first item"] = await tab_until(page, link)
    await page.reload()  # the page as it loads again, the focus at its top
    await tab_until(page, "Skip to main content", 1)
    await page.keyboard.press("Enter")
    counts["to the first item after the skip link"] = await tab_until(page, link)
    await page.screenshot(path=str(ARTIFACTS / f"keyboard-queue-{width}.png"))
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=f"Item #{first}").wait_for()

    counts["to the Claim button"] = await tab_until(page, "button# Claim")
    await page.keyboard.press("Enter")
    await page.get_by_label("Text to send").wait_for()
    # The decision form before the reply box is being reworked (issue 16): this count may move.
    counts["to the reply box, after claiming"] = await tab_until(page, "textarea#reply-text")
    await page.screenshot(path=str(ARTIFACTS / f"keyboard-item-{width}.png"))

    # Decide: back to the decision's radios (they come before the reply box), choose "No
    # action needed" with the arrow keys (nothing is chosen for you), and save and go on.
    for _ in range(30):
        await page.keyboard.press("Shift+Tab")
        if (await page.evaluate(FOCUSED)).startswith("input#decision "):
            break
    else:
        raise AssertionError("the decision's first radio not reached going back from the reply")
    await page.keyboard.press("ArrowUp")  # from the first radio round to the last one
    chosen = page.locator("input[name=decision]:checked")
    assert await chosen.get_attribute("value") == "none"
    counts["to Save and go to next item"] = await tab_until(page, "Save and go to next item")
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=f"Item #{second}").wait_for()
    # The banner has the focus: a screen reader says what happened, and Tab goes on from there.
    focused = await page.evaluate(FOCUSED)
    assert focused.startswith("div#done "), focused
    assert f"Decision recorded on item #{first}" in focused
    # The banner's Undo link comes first, then the page as before.
    counts["to the next item's Claim button"] = await tab_until(page, "button# Claim")
    await page.screenshot(path=str(ARTIFACTS / f"keyboard-next-item-{width}.png"))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"keyboard-pass-{width}.json").write_text(json.dumps(counts, indent=2))
    print(f"Tab presses at {width} px: {counts}")
    over = {step: n for step, n in counts.items() if step in MOST and n > MOST[step]}
    assert over == {}, f"more Tabs than {MOST}: {counts}"
