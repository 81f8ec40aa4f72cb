"""GET /review/queue.csv over real HTTP: the filtered queue, every page of it, masked and safe
to open in a spreadsheet; another service's queue is a 404."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inbound.review import queue_export
from inbound.store.models import AuditEvent
from tests.integration.review_support import ALPHA_NUMBER, Desk, callback_secret, desk
from tests.support.browser import Client, add_item

__all__ = ["callback_secret", "desk"]  # fixtures


async def _csv(client: Client, query: str = "") -> tuple[int, list[list[str]], object]:
    async with client.http.get(
        f"{client.base_url}/review/queue.csv{query}", allow_redirects=False
    ) as response:
        body = await response.read()
        if response.status != 200:
            return response.status, [], response.headers
        text = body.decode("utf-8")
        assert text.startswith("\ufeff")  # so a spreadsheet reads it as UTF-8
        return response.status, list(csv.reader(io.StringIO(text[1:]))), response.headers


async def test_the_queue_downloads_masked_and_neutralised_with_only_the_users_service(
    desk: Desk,
) -> None:
    sessions = desk.stack.sessions
    formula = await add_item(
        sessions,
        "alpha",
        '=HYPERLINK("http://evil.example","x")',
        sender="+447700900456",
        recipient=ALPHA_NUMBER,
    )
    plain = await desk.item("can I come at 3?", sender="+447700900789")
    await add_item(sessions, "beta", "beta's secret", recipient="+447700900002")

    status, rows, headers = await _csv(desk.browser)

    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"  # type: ignore[index]
    assert 'filename="review-queue-all-' in headers["Content-Disposition"]  # type: ignore[index]
    assert rows[0] == list(queue_export.HEADER)
    by_item = {row[0]: row for row in rows[1:]}
    assert set(by_item) == {str(formula), str(plain)}  # nothing of beta
    assert by_item[str(formula)][5] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_item[str(plain)][4] == "'+44********89"
    assert by_item[str(plain)][2] == "open"
    assert "+447700900789" not in str(rows)
    async with sessions() as session:
        audited = await session.scalars(select(AuditEvent.action))
        assert list(audited).count("export_queue") == 1


async def test_every_page_is_written_and_the_date_filter_applies(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = desk.stack.sessions
    old = await add_item(
        sessions, "alpha", "old one", recipient=ALPHA_NUMBER, age=timedelta(days=3)
    )
    recent = [await desk.item(f"recent {n}") for n in range(7)]
    monkeypatch.setattr(queue_export, "EXPORT_PAGE", 3)  # several pages from eight rows
    today = datetime.now(UTC).date()
    _, everything, _ = await _csv(desk.browser)
    _, filtered, _ = await _csv(desk.browser, f"?received_from={today - timedelta(days=1)}")
    _, before, _ = await _csv(desk.browser, f"?received_to={today - timedelta(days=2)}")
    assert [row[0] for row in everything[1:]] == [str(old)] + [str(item) for item in recent]
    assert [row[0] for row in filtered[1:]] == [str(item) for item in recent]
    assert [row[0] for row in before[1:]] == [str(old)]


async def test_another_services_queue_a_bad_date_and_no_sign_in(desk: Desk) -> None:
    status, _, _ = await _csv(desk.browser, "?service=beta")
    assert status == 404
    status, _, _ = await _csv(desk.browser, "?received_from=30/11/2026")
    assert status == 400
    status, _, _ = await _csv(desk.browser, "?received_from=2026-11-30&received_to=2026-11-01")
    assert status == 400
    stranger = Client(desk.stack.base_url)
    try:
        status, _, headers = await _csv(stranger)
        assert status == 303
        assert headers["Location"] == "/review/sign-in"  # type: ignore[index]
    finally:
        await stranger.close()


async def test_the_queue_page_filters_by_day_and_links_the_same_filter_as_csv(desk: Desk) -> None:
    old = await add_item(
        desk.stack.sessions, "alpha", "old one", recipient=ALPHA_NUMBER, age=timedelta(days=3)
    )
    recent = await desk.item("recent one")
    since = datetime.now(UTC).date() - timedelta(days=1)

    status, page, _ = await desk.browser.get(f"/review/?received_from={since}&after=")

    assert status == 200
    assert f"/review/items/{recent}" in page
    assert f"/review/items/{old}" not in page
    assert f'value="{since}"' in page  # the field keeps the day
    assert f'href="/review/queue.csv?received_from={since}"' in page  # no cursor
    status, page, _ = await desk.browser.get("/review/?received_from=yesterday")
    assert status == 400
    assert "received_from" in page
