"""The "could not be delivered" list in pages, over real HTTP on SQLite and PostgreSQL: 50 a
page, the newest to give up first, with govuk-frontend's Previous and Next (keyset cursors);
every action reachable, none twice. Before, it showed the newest 200 and no way to the rest."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

from inbound.message import InboundMessage
from inbound.states import ActionKind, ActionState
from inbound.store.messages import Messages
from inbound.store.models import Action
from tests.integration.review_support import ALPHA_NUMBER, Desk, callback_secret, desk

__all__ = ["callback_secret", "desk"]  # fixtures

_RETRY = re.compile(r'id="retry-(\d+)"')


async def _failed_callbacks(desk: Desk, count: int) -> list[int]:
    """`count` alpha callbacks that gave up, a minute apart; their ids, the newest first."""
    now = datetime.now(UTC)
    made: list[tuple[datetime, int]] = []
    async with desk.stack.sessions.begin() as session:
        for n in range(count):
            message = InboundMessage(
                provider="generic",
                provider_message_id=f"ud-{uuid.uuid4().hex[:12]}",
                sender="+447700900123",
                recipient=ALPHA_NUMBER,
                text=f"cancel {n}",
                received_at=now,
                accepted_at=now,
            )
            stored = await Messages(session).add(message, "alpha", "processed")
            # Two share each time: the id breaks the tie.
            gave_up = now - timedelta(minutes=count - n // 2)
            action = Action(
                message_id=stored.id,
                service_id="alpha",
                kind=ActionKind.CALLBACK,
                idempotency_key=f"ud-{uuid.uuid4().hex}",
                payload={"event": {"action": "cancel"}},
                state=ActionState.FAILED,
                attempts=8,
                last_error="HTTP 500",
                created_at=gave_up,
                finished_at=gave_up,
            )
            session.add(action)
            await session.flush()
            made.append((gave_up, action.id))
    return [action_id for _, action_id in sorted(made, reverse=True)]


def listed(page: str) -> list[int]:
    return [int(found) for found in _RETRY.findall(page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="([^"]*)" rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


async def test_every_action_that_gave_up_is_reached_through_the_pages(desk: Desk) -> None:
    newest_first = await _failed_callbacks(desk, 120)
    status, first, _ = await desk.browser.get("/review/undelivered")
    assert status == 200
    assert listed(first) == newest_first[:50]
    assert 'class="govuk-pagination govuk-pagination--block"' in first
    assert link(first, "prev") is None
    second_href = link(first, "next")
    assert second_href is not None
    assert second_href.startswith("/review/undelivered?after=")

    _, second, _ = await desk.browser.get(second_href)
    assert listed(second) == newest_first[50:100]
    third_href = link(second, "next")
    assert third_href is not None
    _, third, _ = await desk.browser.get(third_href)
    assert listed(third) == newest_first[100:]
    assert link(third, "next") is None

    back_href = link(third, "prev")
    assert back_href is not None
    assert back_href.startswith("/review/undelivered?before=")
    _, back, _ = await desk.browser.get(back_href)
    assert listed(back) == newest_first[50:100]
    first_again_href = link(back, "prev")
    assert first_again_href is not None
    _, first_again, _ = await desk.browser.get(first_again_href)
    assert listed(first_again) == newest_first[:50]
    assert link(first_again, "prev") is None


async def test_one_page_has_no_pagination_and_a_bad_cursor_is_a_400(desk: Desk) -> None:
    await _failed_callbacks(desk, 3)
    status, page, _ = await desk.browser.get("/review/undelivered")
    assert status == 200
    assert len(listed(page)) == 3
    assert "govuk-pagination" not in page
    for query in ("after=nonsense", "before=1_x"):
        status, page, _ = await desk.browser.get(f"/review/undelivered?{query}")
        assert status == 400, query
        assert query.split("=")[0] + "=" in page
