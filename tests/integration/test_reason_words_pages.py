"""The queue and the item page say why an item is there in words; the stored reason, with its
rule jargon, is for service admins under "Rule details"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from inbound.message import InboundMessage
from inbound.store.messages import Messages
from tests.integration.review_support import ALPHA_NUMBER, Desk, callback_secret, desk
from tests.support.browser import add_person, signed_in

__all__ = ["callback_secret", "desk"]  # fixtures

REASON = "extra text after keyword 'yes'"
WORDS = "The reply starts with \u201cyes\u201d but goes on to say more"


async def _item(desk: Desk, reason: str) -> int:
    now = datetime.now(UTC)
    message = InboundMessage(
        provider="generic",
        provider_message_id=f"rw-{uuid.uuid4().hex[:12]}",
        sender="+447700900321",
        recipient=ALPHA_NUMBER,
        text="Yes but can I change the time?",
        received_at=now,
        accepted_at=now,
    )
    async with desk.stack.sessions.begin() as session:
        repo = Messages(session)
        stored = await repo.add(message, "alpha", "review")
        return (await repo.open_review(stored, "alpha", reason, "confirm")).id


async def test_the_queue_says_why_in_words(desk: Desk) -> None:
    item = await _item(desk, REASON)
    status, page, _ = await desk.browser.get("/review/")
    assert status == 200
    assert f"/review/items/{item}" in page
    assert WORDS in page.replace("&#8220;", "\u201c").replace("&#8221;", "\u201d")
    assert "keyword &#39;yes&#39;" not in page
    assert "keyword 'yes'" not in page


def _unescaped(page: str) -> str:
    return page.replace("&#8220;", "\u201c").replace("&#8221;", "\u201d").replace("&#39;", "'")


async def test_the_item_page_says_why_in_words_and_keeps_the_rules_for_admins(desk: Desk) -> None:
    item = await _item(desk, REASON)
    status, page, _ = await desk.browser.get(f"/review/items/{item}")
    assert status == 200
    assert WORDS in _unescaped(page)
    assert "Rule details" not in page  # a caseworker isn't shown the rule jargon
    assert "keyword 'yes'" not in _unescaped(page)

    admin = await add_person(
        desk.stack.sessions,
        f"lead-{uuid.uuid4().hex[:6]}@alpha.example",
        {"alpha": "service_admin"},
    )
    browser = await signed_in(desk.stack.base_url, admin)
    try:
        status, page, _ = await browser.get(f"/review/items/{item}")
    finally:
        await browser.close()
    assert status == 200
    assert WORDS in _unescaped(page)
    assert "Rule details" in page
    assert "extra text after keyword 'yes'" in _unescaped(page)
