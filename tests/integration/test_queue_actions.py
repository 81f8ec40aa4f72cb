"""The queue's own actions over real HTTP, on SQLite and PostgreSQL: assigning an item to a
colleague of its service, claims released when untouched, and acting on several ticked items
at once, each checked as the single-item action checks it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import select

from inbound.config import Settings
from inbound.states import ReviewState
from inbound.store.models import AuditEvent, ReviewItem
from tests.integration.review_support import Desk, callback_secret, desk, review_desk
from tests.support.browser import add_item, add_person, signed_in

__all__ = ["callback_secret", "desk"]  # fixtures


async def _item(desk: Desk, item_id: int) -> ReviewItem:
    async with desk.stack.sessions() as session:
        found = await session.get(ReviewItem, item_id)
        assert found is not None
        return found


async def _audit(desk: Desk, action: str) -> list[AuditEvent]:
    async with desk.stack.sessions() as session:
        found = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(found)


async def _page(desk: Desk, path: str) -> str:
    status, page, _ = await desk.browser.get(path)
    assert status == 200, status
    return page


async def _colleague(desk: Desk, roles: dict[str, str]) -> str:
    email = f"colleague-{uuid.uuid4().hex[:6]}@example.org"
    await add_person(desk.stack.sessions, email, roles)
    return email


async def _selected(desk: Desk, do: str, items: list[int], **fields: str) -> str:
    """Post the ticked items as the queue page does; the Location it sends the browser to."""
    await desk.browser.get("/review/")
    form: list[tuple[str, str]] = [("do", do), *(("item", str(i)) for i in items)]
    form += [*fields.items(), ("csrf_token", desk.browser.csrf)]
    async with desk.browser.http.post(
        desk.stack.base_url + "/review/queue/selected", data=form, allow_redirects=False
    ) as response:
        assert response.status == 303, await response.text()
        return response.headers["Location"]


async def test_an_item_is_assigned_to_a_colleague_of_its_service_and_audited(desk: Desk) -> None:
    colleague = await _colleague(desk, {"alpha": "caseworker"})
    item = await desk.item()
    page = await _page(desk, "/review/")
    assert colleague in page  # offered in the "Assign to a colleague" list

    location = await _selected(desk, "assign", [item], assignee=colleague)
    page = await _page(desk, location)
    assert "1 assigned" in page

    stored = await _item(desk, item)
    assert stored.state == ReviewState.CLAIMED
    assert stored.assigned_by is not None
    assert stored.claimed_by != stored.assigned_by
    assert f'assigned by <bdi class="text-words">{desk.caseworker.email}</bdi>' in page
    [audited] = await _audit(desk, "assign")
    assert (audited.item_id, audited.subject) == (item, colleague)


async def test_assigning_to_someone_outside_the_service_is_refused(desk: Desk) -> None:
    outsider = await _colleague(desk, {"beta": "caseworker"})
    item = await desk.item()
    page = await _page(desk, "/review/")
    assert outsider not in page

    location = await _selected(desk, "assign", [item], assignee=outsider)
    page = await _page(desk, location)
    assert "There is a problem" in page
    assert "Select a colleague from your services" in page
    assert (await _item(desk, item)).state == ReviewState.OPEN
    assert await _audit(desk, "assign") == []


async def test_a_claim_not_touched_is_released_and_tagged_until_claimed(
    settings: Settings, tmp_path: Path
) -> None:
    # A tenth of a second: the setting in minutes.
    async with review_desk(settings, tmp_path, claim_release_after=0.1 / 60) as desk:
        item = await desk.claimed()
        await asyncio.sleep(0.3)
        page = await _page(desk, "/review/")
        assert "released: not touched for 1 min" in page
        stored = await _item(desk, item)
        assert (stored.state, stored.claimed_by) == (ReviewState.OPEN, None)
        [audited] = await _audit(desk, "auto_release")
        assert audited.item_id == item

        status, _, _ = await desk.browser.post(f"/review/items/{item}/claim", {})
        assert status == 303
        page = await _page(desk, "/review/")
        assert "released: not touched" not in page


async def test_a_claim_touched_by_its_holder_is_kept_until_left_alone(
    settings: Settings, tmp_path: Path
) -> None:
    async with review_desk(settings, tmp_path, claim_release_after=1.0 / 60) as desk:
        item = await desk.claimed()
        for _ in range(3):  # 1.2 s in all, each touch well within the 1 s
            await asyncio.sleep(0.4)
            status, _, _ = await desk.browser.post(
                f"/review/items/{item}/note", {"text": "still on it"}
            )
            assert status == 303
            await _page(desk, "/review/")
            assert (await _item(desk, item)).state == ReviewState.CLAIMED
        await asyncio.sleep(1.1)
        await _page(desk, f"/review/items/{item}")
        assert (await _item(desk, item)).state == ReviewState.OPEN  # the item page looks too


async def test_bulk_dismiss_names_the_item_already_resolved(desk: Desk) -> None:
    items = [await desk.item() for _ in range(4)]
    closed = items[2]
    status, _, _ = await desk.browser.post(f"/review/items/{closed}/dismiss", {"reason": "spam"})
    assert status == 303

    location = await _selected(desk, "dismiss", items, reason="duplicates of one another")
    page = await _page(desk, location)
    assert f"3 dismissed; 1 not changed: item #{closed} was already dismissed" in page
    for item in items:
        assert (await _item(desk, item)).state == ReviewState.DISMISSED
    assert (await _item(desk, closed)).decision_note == "spam"


async def test_bulk_release_releases_only_the_items_held(desk: Desk) -> None:
    held = await desk.claimed()
    open_item = await desk.item()
    location = await _selected(desk, "release", [held, open_item])
    page = await _page(desk, location)
    assert f"1 released; 1 not changed: item #{open_item} is not held by you" in page
    assert (await _item(desk, held)).state == ReviewState.OPEN


async def test_another_services_item_in_a_bulk_post_is_refused_and_audited(desk: Desk) -> None:
    mine = await desk.item()
    theirs = await add_item(desk.stack.sessions, "beta", "not yours", sender="+447700900555")
    location = await _selected(desk, "dismiss", [mine, theirs], reason="tidying up")
    page = await _page(desk, location)
    assert f"1 dismissed; 1 not changed: item #{theirs} was not found in your services" in page
    assert (await _item(desk, theirs)).state == ReviewState.OPEN
    denied = await _audit(desk, "denied")
    assert [(e.item_id, e.service_id, e.detail) for e in denied] == [(theirs, "beta", "dismiss")]


async def test_a_bulk_post_without_csrf_or_ticks_changes_nothing(desk: Desk) -> None:
    item = await desk.item()
    status, _, _ = await desk.browser.post(
        "/review/queue/selected", {"do": "dismiss", "item": str(item), "reason": "x"}, csrf=False
    )
    assert status == 403
    location = await _selected(desk, "dismiss", [], reason="x")
    assert location == "/review/?bulk_error=none"
    location = await _selected(desk, "dismiss", [item], reason="")
    page = await _page(desk, location)
    assert 'href="#bulk-reason"' in page
    assert (await _item(desk, item)).state == ReviewState.OPEN


async def test_a_second_caseworker_sees_the_assignment(desk: Desk) -> None:
    colleague_email = f"colleague-{uuid.uuid4().hex[:6]}@example.org"
    colleague = await add_person(desk.stack.sessions, colleague_email, {"alpha": "caseworker"})
    item = await desk.item()
    await _selected(desk, "assign", [item], assignee=colleague_email)
    other = await signed_in(desk.stack.base_url, colleague)
    try:
        status, _, _ = await other.post(f"/review/items/{item}/reply", {"text": "Hello"})
        assert status == 303  # they hold it: a reply needs the claim
    finally:
        await other.close()
