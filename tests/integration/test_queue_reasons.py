"""The queue's counts per reason, its reason filter and its pages, over real HTTP against a
running inbound on SQLite and PostgreSQL (issue 16): each count links to the queue of that
reason and that queue lists exactly the items counted; the counts follow every other filter but
not the reason's; Previous and Next walk the pages and keep the filter; service names, not ids."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from inbound.message import InboundMessage
from inbound.store.messages import Messages
from inbound.store.models import Message, ReviewItem
from tests.integration.review_support import ALPHA_NUMBER, Desk, callback_secret, desk
from tests.integration.test_actions import send
from tests.support.browser import add_item, add_person, signed_in
from tests.support.waiting import eventually

__all__ = ["callback_secret", "desk"]  # fixtures

NO_MATCH = "None of the service's keywords is in the reply."
LATE = "The reply came after its reminder expired."
QUESTION = "The reply asks a question about \u201ctime\u201d rather than answering."
_REASON_ROW = re.compile(
    r'<th scope="row"[^>]*><bdi class="text-words">([^<]*)</bdi>.*?</th>\s*'
    r'<td[^>]*><a class="govuk-link" href="([^"]*)"[^>]*>(\d+)<span',
    re.S,
)
_ITEM = re.compile(r'href="/review/items/(\d+)"')


async def _item(desk: Desk, reason: str, text: str = "is it on?", age_minutes: int = 5) -> int:
    """An open alpha item with this stored reason, received `age_minutes` ago."""
    when = datetime.now(UTC) - timedelta(minutes=age_minutes)
    message = InboundMessage(
        provider="generic",
        provider_message_id=f"qr-{uuid.uuid4().hex[:12]}",
        sender=f"+4477009{uuid.uuid4().int % 100_000:05d}",
        recipient=ALPHA_NUMBER,
        text=text,
        received_at=when,
        accepted_at=when,
    )
    async with desk.stack.sessions.begin() as session:
        repo = Messages(session)
        stored = await repo.add(message, "alpha", "review")
        return (await repo.open_review(stored, "alpha", reason, None)).id


def reason_counts(page: str) -> dict[str, tuple[int, str]]:
    """The page's counts per reason: words -> (count, link), as a browser would follow it."""
    table = page.split('class="govuk-table reason-counts"', 1)[1].split("</table>", 1)[0]
    return {
        html.unescape(words): (int(count), html.unescape(link))
        for words, link, count in _REASON_ROW.findall(table)
    }


def items(page: str) -> set[int]:
    return {int(found) for found in _ITEM.findall(page)}


def selected_reason(page: str) -> str | None:
    """The value of the reason filter's selected option."""
    select = page.split('id="f-reason"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return html.unescape(found.group(1)) if found else None


def link(page: str, rel: str) -> str | None:
    """The href of the pagination's Previous (`prev`) or Next (`next`) link."""
    found = re.search(rf'href="([^"]*)" rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


async def test_each_count_links_to_the_queue_of_exactly_the_items_it_counts(desk: Desk) -> None:
    unmatched = {await _item(desk, "no rule matched") for _ in range(3)}
    late = {
        await _item(desk, "came 3 days after the reminder expired (appt-2)"),
        await _item(desk, "came 20 minutes after the reminder expired (appt-9)"),
    }
    question = {await _item(desk, "a question about keyword 'time'; most likely about reminder r")}

    status, page, _ = await desk.browser.get("/review/")
    assert status == 200
    counts = reason_counts(page)
    assert {words: count for words, (count, _) in counts.items()} == {
        NO_MATCH: 3,
        LATE: 2,
        QUESTION: 1,
    }
    assert list(counts) == [NO_MATCH, LATE, QUESTION]  # the most items first
    for words, expected in [(NO_MATCH, unmatched), (LATE, late), (QUESTION, question)]:
        href = counts[words][1]
        assert href.startswith("/review/?")
        assert parse_qs(urlsplit(href).query)["reason"] == [words]
        status, shown, _ = await desk.browser.get(href)
        assert status == 200, words
        assert items(shown) == expected, words
        # The counts stay those of every reason; the one shown is marked and the others link.
        assert {w: c for w, (c, _) in reason_counts(shown).items()}[words] == len(expected)
        assert len(reason_counts(shown)) == 3
        assert 'aria-current="page"' in shown
        assert "Show items for every reason" in shown
        # The filter's select offers the groups, the one shown selected.
        assert selected_reason(shown) == words


async def test_the_counts_follow_the_other_filters_but_not_the_reason(desk: Desk) -> None:
    lamp = {await _item(desk, "no rule matched", text="the lamp is out") for _ in range(2)}
    await _item(desk, "no rule matched", text="any news")
    await _item(desk, "empty message", text="the lamp again")
    await _item(desk, "came 3 days after the reminder expired (appt-2)", text="news")

    status, page, _ = await desk.browser.get("/review/?q=lamp")
    assert status == 200
    counted = {words: count for words, (count, _) in reason_counts(page).items()}
    assert counted == {NO_MATCH: 2, "The reply is empty.": 1}
    # Filtered by a reason too: the counts are the same, and the link keeps the search.
    status, page, _ = await desk.browser.get(reason_counts(page)[NO_MATCH][1])
    assert status == 200
    assert items(page) == lamp
    assert {w: c for w, (c, _) in reason_counts(page).items()} == counted
    assert parse_qs(urlsplit(reason_counts(page)["The reply is empty."][1]).query) == {
        "q": ["lamp"],
        "reason": ["The reply is empty."],
    }


async def test_an_older_reason_text_link_still_filters_by_what_the_reason_contains(
    desk: Desk,
) -> None:
    unmatched = {await _item(desk, "no rule matched") for _ in range(2)}
    await _item(desk, "empty message")
    status, page, _ = await desk.browser.get("/review/?reason=no+rule")
    assert status == 200
    assert items(page) == unmatched
    # The select keeps the words typed, so Apply gives the same queue again.
    assert selected_reason(page) == "no rule"
    assert "Containing \u201cno rule\u201d</option>" in page


async def test_the_csv_of_a_reason_group_has_its_rows(desk: Desk) -> None:
    late = {
        await _item(desk, "came 3 days after the reminder expired (appt-2)"),
        await _item(desk, "came 1 hour after the reminder expired (appt-3)"),
    }
    await _item(desk, "no rule matched")
    _, page, _ = await desk.browser.get("/review/")
    href = reason_counts(page)[LATE][1]
    status, body, _ = await desk.browser.get(href.replace("/review/?", "/review/queue.csv?"))
    assert status == 200
    rows = body.lstrip("\ufeff").strip().split("\r\n")[1:]
    assert {int(row.split(",")[0]) for row in rows} == late


async def test_previous_and_next_walk_the_pages_and_keep_the_filter(desk: Desk) -> None:
    # 101 items of one reason, oldest first; and one of another reason the filter leaves out.
    made = [
        await _item(desk, "no rule matched", text=f"lamp {n}", age_minutes=500 - n)
        for n in range(101)
    ]
    await _item(desk, "empty message", text="lamp too", age_minutes=1)
    _, page, _ = await desk.browser.get("/review/")
    first_href = reason_counts(page)[NO_MATCH][1] + "&q=lamp"

    status, first, _ = await desk.browser.get(first_href)
    assert status == 200
    assert (
        '<nav class="govuk-pagination govuk-pagination--block" aria-label="Queue pages">' in first
    )
    assert link(first, "prev") is None
    assert items(first) == set(made[:50])
    second_href = link(first, "next")
    assert second_href is not None
    kept = parse_qs(urlsplit(second_href).query)
    assert kept["reason"] == [NO_MATCH]
    assert kept["q"] == ["lamp"]
    assert "after" in kept

    status, second, _ = await desk.browser.get(second_href)
    assert status == 200
    assert items(second) == set(made[50:100])
    third_href = link(second, "next")
    assert third_href is not None
    status, third, _ = await desk.browser.get(third_href)
    assert items(third) == {made[100]}
    assert link(third, "next") is None

    # Back: Previous from the last page is the second again, and from there the first, which
    # has no Previous; every link keeps the filter.
    back_href = link(third, "prev")
    assert back_href is not None
    kept = parse_qs(urlsplit(back_href).query)
    assert kept["reason"] == [NO_MATCH]
    assert kept["q"] == ["lamp"]
    assert "before" in kept
    status, back, _ = await desk.browser.get(back_href)
    assert status == 200
    assert items(back) == set(made[50:100])
    assert link(back, "next") is not None
    first_again_href = link(back, "prev")
    assert first_again_href is not None
    status, first_again, _ = await desk.browser.get(first_again_href)
    assert items(first_again) == set(made[:50])
    assert link(first_again, "prev") is None
    assert link(first_again, "next") == second_href


async def test_a_bad_before_cursor_is_a_clear_400(desk: Desk) -> None:
    status, page, _ = await desk.browser.get("/review/?before=nonsense")
    assert status == 400
    assert "before=" in page


async def test_review_pages_name_the_service_not_its_id(desk: Desk) -> None:
    item = await _item(desk, "no rule matched")
    status, page, _ = await desk.browser.get(f"/review/items/{item}")
    assert status == 200
    service_row = page.split(">Service</dt>", 1)[1].split("</dd>", 1)[0]
    assert "Service alpha" in service_row
    status, page, _ = await desk.browser.get("/review/")
    assert '<option value="alpha">Service alpha</option>' in page
    # Someone who sees more than one service (here a platform admin: alpha and the items of no
    # service) is told each row's service, and each colleague's, by name.
    await add_item(desk.stack.sessions, None, "wrong number?", recipient="+447700900999")
    ops = await add_person(
        desk.stack.sessions, "ops@example.org", {"alpha": "caseworker"}, platform_admin=True
    )
    browser = await signed_in(desk.stack.base_url, ops)
    try:
        status, page, _ = await browser.get("/review/")
    finally:
        await browser.close()
    assert status == 200
    assert '<span class="queue-service">Service alpha</span>' in page
    assert '<span class="queue-service">Unassigned</span>' in page
    assert "ops@example.org (Service alpha)</option>" in page


async def test_the_counts_of_a_queue_filtered_by_day_count_the_days_items(desk: Desk) -> None:
    today = {await _item(desk, "no rule matched", age_minutes=0) for _ in range(2)}
    await _item(desk, "no rule matched", age_minutes=3 * 24 * 60)
    await _item(desk, "empty message", age_minutes=3 * 24 * 60)
    # An item flagged after its message was decided (a callback that gave up) counts by its
    # message's day too.
    now = datetime.now(UTC)
    message = InboundMessage(
        provider="generic",
        provider_message_id=f"qr-{uuid.uuid4().hex[:12]}",
        sender="+447700900555",
        recipient=ALPHA_NUMBER,
        text="cancel",
        received_at=now,
        accepted_at=now,
    )
    async with desk.stack.sessions.begin() as session:
        stored = await Messages(session).add(message, "alpha", "processed")
        await Messages(session).flag_for_review(stored.id, "alpha", "callback failed: HTTP 500")
    day = now.date().isoformat()
    status, page, _ = await desk.browser.get(f"/review/?received_from={day}&received_to={day}")
    assert status == 200
    counted = {words: count for words, (count, _) in reason_counts(page).items()}
    failed = (
        "The service could not be told about the decision: see \u201cCould not be delivered\u201d."
    )
    assert counted == {NO_MATCH: 2, failed: 1}
    _, shown, _ = await desk.browser.get(reason_counts(page)[NO_MATCH][1])
    assert items(shown) == today


async def test_an_item_the_worker_opened_is_in_its_days_queue_and_count(desk: Desk) -> None:
    """Through the webhook, RabbitMQ and the worker's batch: the item keeps its message's time,
    which the day filter and the counts read."""
    await send(desk.stack, "what is this about?", to=ALPHA_NUMBER, sender="+447700900777")

    async def opened() -> list[ReviewItem]:
        async with desk.stack.sessions() as session:
            return list(await session.scalars(select(ReviewItem)))

    [item] = await eventually(opened, lambda found: len(found) == 1)
    async with desk.stack.sessions() as session:
        message = await session.get(Message, item.message_id)
    assert message is not None
    assert item.received_at == message.accepted_at
    day = message.accepted_at.date().isoformat()
    status, page, _ = await desk.browser.get(f"/review/?received_from={day}&received_to={day}")
    assert status == 200
    assert items(page) == {item.id}
    assert sum(count for count, _ in reason_counts(page).values()) == 1
