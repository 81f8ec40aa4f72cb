"""The review queue over real HTTP: sign-in, scoping by service and role, and the decisions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from yarl import URL

from inbound.config import Settings
from inbound.store.models import Action, AuditEvent, Outcome, ReviewItem
from inbound.store.users import Audit
from tests.integration.conftest import Stack, running_stack
from tests.integration.review_support import callback_secret
from tests.integration.test_actions import rules_dir
from tests.support.browser import PASSWORD, Client, Person, add_item, add_person, signed_in
from tests.support.fake_service import FakeService, fake_service
from tests.support.waiting import eventually

__all__ = ["callback_secret"]  # fixtures

ALPHA_NUMBER, BETA_NUMBER = "+447700900001", "+447700900002"


@dataclass
class World:
    stack: Stack
    callbacks: FakeService
    caseworker: Person
    admin: Person
    platform: Person
    alpha: int
    beta: int
    unassigned: int


@pytest.fixture
async def world(settings: Settings, tmp_path: Path) -> AsyncIterator[World]:
    async with fake_service([200]) as callbacks:
        folder = rules_dir(
            tmp_path,
            [("alpha", ALPHA_NUMBER, callbacks.url), ("beta", BETA_NUMBER, callbacks.url)],
        )
        changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
        async with running_stack(changed) as stack:
            sessions = stack.sessions
            yield World(
                stack,
                callbacks,
                await add_person(sessions, "case@alpha.example", {"alpha": "caseworker"}),
                await add_person(sessions, "admin@alpha.example", {"alpha": "service_admin"}),
                await add_person(sessions, "ops@platform.example", {}, platform_admin=True),
                await add_item(sessions, "alpha", "yes but maybe", recipient=ALPHA_NUMBER),
                await add_item(sessions, "beta", "beta secret text", recipient=BETA_NUMBER),
                await add_item(sessions, None, "nobody's", recipient="+447700900999"),
            )


async def client(world: World, person: Person) -> Client:
    return await signed_in(world.stack.base_url, person)


# -- sign-in ----------------------------------------------------------------------------------


async def test_sign_in_gives_no_hint_whether_the_account_exists(world: World) -> None:
    browser = Client(world.stack.base_url)
    try:
        await browser.get("/review/sign-in")
        wrong = await browser.post(
            "/review/sign-in", {"email": world.caseworker.email, "password": "nope"}
        )
        await browser.get("/review/sign-in")
        unknown = await browser.post(
            "/review/sign-in", {"email": "ghost@nowhere.example", "password": "nope"}
        )
        assert wrong[0] == unknown[0] == 401
        assert wrong[1].replace(browser.csrf, "") == unknown[1].replace(browser.csrf, "")
    finally:
        await browser.close()


async def test_password_alone_does_not_open_the_queue(world: World) -> None:
    browser = Client(world.stack.base_url)
    try:
        await browser.get("/review/sign-in")
        status, _, headers = await browser.post(
            "/review/sign-in", {"email": world.caseworker.email, "password": PASSWORD}
        )
        assert (status, headers["Location"]) == (303, "/review/two-factor")
        status, _, headers = await browser.get("/review/")
        assert (status, headers["Location"]) == (303, "/review/sign-in")
        await browser.get("/review/two-factor")
        assert (await browser.post("/review/two-factor", {"code": "000000"}))[0] == 401
    finally:
        await browser.close()


async def test_first_sign_in_enrols_totp_from_the_qr_page(world: World) -> None:
    person = await add_person(
        world.stack.sessions, "new@alpha.example", {"alpha": "caseworker"}, enrolled=False
    )
    browser = Client(world.stack.base_url)
    try:
        await browser.get("/review/sign-in")
        status, _, headers = await browser.post(
            "/review/sign-in", {"email": person.email, "password": PASSWORD}
        )
        assert headers["Location"] == "/review/enrol"
        _, page, _ = await browser.get("/review/enrol")
        secret = page.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
        status, svg, headers = await browser.get("/review/enrol/qr.svg")
        assert status == 200
        assert headers["Content-Type"].startswith("image/svg+xml")
        assert "<script" not in svg
        status, _, headers = await browser.post("/review/enrol", {"code": pyotp.TOTP(secret).now()})
        assert (status, headers["Location"]) == (303, "/review/")
        assert (await browser.get("/review/"))[0] == 200
    finally:
        await browser.close()


async def test_session_id_changes_at_sign_in_and_sign_out_ends_it_on_the_server(
    world: World,
) -> None:
    browser = Client(world.stack.base_url)
    try:
        await browser.get("/review/sign-in")
        await browser.post(
            "/review/sign-in", {"email": world.caseworker.email, "password": PASSWORD}
        )
        half = browser.http.cookie_jar.filter_cookies(URL(world.stack.base_url))["inbound_session"]
        await browser.sign_in(world.caseworker)
        full = browser.http.cookie_jar.filter_cookies(URL(world.stack.base_url))["inbound_session"]
        assert half.value != full.value
        assert (await browser.post("/review/sign-out", {}))[0] == 303
        # The old cookie, replayed, no longer opens anything.
        again = Client(world.stack.base_url)
        again.http.cookie_jar.update_cookies({"inbound_session": full.value})
        status, _, headers = await again.get("/review/")
        await again.close()
        assert (status, headers["Location"]) == (303, "/review/sign-in")
    finally:
        await browser.close()


async def test_sign_in_attempts_are_throttled_per_account(world: World) -> None:
    browser = Client(world.stack.base_url)
    try:
        for _ in range(5):
            await browser.get("/review/sign-in")
            await browser.post(
                "/review/sign-in", {"email": world.admin.email, "password": "wrong guess"}
            )
        await browser.get("/review/sign-in")
        status, page, headers = await browser.post(
            "/review/sign-in", {"email": world.admin.email, "password": PASSWORD}
        )
        # Not checked at all, even the right password: told to wait, in words.
        assert status == 429
        assert "Wait 30 seconds, then try again." in page
        assert headers["Retry-After"] == "30"
    finally:
        await browser.close()


async def test_pages_carry_csp_no_store_and_strict_cookies(world: World) -> None:
    browser = await client(world, world.caseworker)
    try:
        status, page, headers = await browser.get(f"/review/items/{world.alpha}")
        assert status == 200
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
        assert "<script>" not in page
        assert "style=" not in page
        async with browser.http.get(world.stack.base_url + "/review/sign-in") as response:
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
    finally:
        await browser.close()


async def test_cookies_are_secure_by_default(settings: Settings) -> None:
    async with running_stack(settings) as stack:
        response = await stack.http.get(stack.base_url + "/review/sign-in")
        cookie = response.headers["Set-Cookie"]
        response.release()
    assert "Secure" in cookie


async def test_a_form_without_the_csrf_token_is_refused(world: World) -> None:
    browser = await client(world, world.caseworker)
    try:
        status, _, _ = await browser.post(f"/review/items/{world.alpha}/claim", {}, csrf=False)
        assert status == 403
        async with world.stack.sessions() as session:
            item = await session.get(ReviewItem, world.alpha)
            assert item is not None
            assert item.state == "open"
    finally:
        await browser.close()


# -- scoping: route x role x another service's object -----------------------------------------

ITEM_POSTS = {
    "claim": {},
    "release": {},
    "decide": {"decision": "confirm"},
    "reply": {"text": "hello"},
    "dismiss": {"reason": "spam"},
    "note": {"text": "looked"},
}
ROLES = ["caseworker", "admin", "platform"]


@pytest.mark.parametrize("role", ROLES)
async def test_another_services_item_is_404_on_every_route_and_audited(
    world: World, role: str
) -> None:
    person: Person = getattr(world, role)
    browser = await client(world, person)
    try:
        status, page, _ = await browser.get(f"/review/items/{world.beta}")
        assert status == 404
        assert "beta secret text" not in page
        for action, form in ITEM_POSTS.items():
            status, page, _ = await browser.post(f"/review/items/{world.beta}/{action}", form)
            assert status == 404, action
        _, queue, _ = await browser.get("/review/")
        assert "beta secret text" not in queue
        assert (await browser.get("/review/?service=beta"))[0] == 404
        assert (await browser.get("/review/services/beta/rules"))[0] == 404
    finally:
        await browser.close()
    async with world.stack.sessions() as session:
        item = await session.get(ReviewItem, world.beta)
        assert item is not None
        assert (item.state, item.claimed_by) == ("open", None)
        denied = [e for e in await Audit(session).events("denied") if e.item_id == world.beta]
    assert {event.detail for event in denied} == {"view", *ITEM_POSTS}
    assert all(event.service_id == "beta" for event in denied)


@pytest.mark.parametrize("role", ROLES)
async def test_api_tokens_are_scoped_like_the_pages(world: World, role: str) -> None:
    person: Person = getattr(world, role)
    auth = {"Authorization": f"Bearer {person.token}"}
    base = world.stack.base_url
    http = world.stack.http
    async with http.get(f"{base}/api/items/{world.beta}", headers=auth) as response:
        assert response.status == 404
    for action, body in ITEM_POSTS.items():
        sent = {"action": "confirm", **body}
        async with http.post(
            f"{base}/api/items/{world.beta}/{action}", json=sent, headers=auth
        ) as response:
            assert response.status == 404, action
    async with http.get(f"{base}/api/queue", headers=auth) as response:
        listed = await response.json()
    assert all(item["service"] != "beta" for item in listed["items"])
    async with http.get(f"{base}/api/queue") as response:
        assert response.status == 401


@pytest.mark.parametrize(
    ("role", "sees"), [("caseworker", False), ("admin", False), ("platform", True)]
)
async def test_only_platform_admins_see_the_unassigned_bucket(
    world: World, role: str, sees: bool
) -> None:
    browser = await client(world, getattr(world, role))
    try:
        status, _, _ = await browser.get(f"/review/items/{world.unassigned}")
        assert status == (200 if sees else 404)
        _, queue, _ = await browser.get("/review/")
        assert ("nobody&#39;s" in queue) is sees
    finally:
        await browser.close()


@pytest.mark.parametrize(("role", "status"), [("caseworker", 404), ("admin", 200)])
async def test_rules_page_is_for_the_services_admins(world: World, role: str, status: int) -> None:
    browser = await client(world, getattr(world, role))
    try:
        assert (await browser.get("/review/services/alpha/rules"))[0] == status
        if status == 200:
            answer, page, _ = await browser.post("/review/services/alpha/rules", {"text": "YES"})
            assert answer == 200
            assert "confirm (automatic)" in page
            _, page, _ = await browser.post(
                "/review/services/alpha/rules", {"text": "yes but can I change the time?"}
            )
            assert "A person decides" in page
    finally:
        await browser.close()


# -- working an item --------------------------------------------------------------------------


async def test_claim_decide_confirm_fires_the_callback_once(world: World) -> None:
    browser = await client(world, world.caseworker)
    try:
        assert (await browser.post(f"/review/items/{world.alpha}/claim", {}))[0] == 303
        decision = {"decision": "confirm", "details": "ok"}
        status, page, _ = await browser.post(f"/review/items/{world.alpha}/decide", decision)
        assert status == 200  # the check page: nothing is sent before it is confirmed
        assert "Check your decision" in page
        status, _, _ = await browser.post(
            f"/review/items/{world.alpha}/decide", {**decision, "confirmed": "yes"}
        )
        assert status == 303
        again = await browser.post(
            f"/review/items/{world.alpha}/decide", {**decision, "confirmed": "yes"}
        )
        assert again[0] == 409
    finally:
        await browser.close()
    # Held for the 30 s undo window, then handed over by the sweep.
    await eventually(lambda: _received(world.callbacks), lambda n: n >= 1, within=60)
    await asyncio.sleep(0.5)  # a second delivery would have arrived by now
    assert len(world.callbacks.received) == 1
    event = world.callbacks.received[0].json()
    assert event["action"] == "confirm"
    assert "caseworker" in event["decided_by"]
    async with world.stack.sessions() as session:
        item = await session.get(ReviewItem, world.alpha)
        assert item is not None
        assert (item.state, item.decision) == ("resolved", "confirm")
        outcome = await session.scalar(select(Outcome).where(Outcome.message_id == item.message_id))
        assert outcome is not None
        assert outcome.rule == "caseworker"
        events = (await session.scalars(select(AuditEvent))).all()
    logged = json.dumps([[e.action, e.detail, e.subject] for e in events])
    assert "yes but maybe" not in logged
    assert "+447700900123" not in logged
    assert {"claim", "decide", "view_item"} <= {e.action for e in events}


async def _received(service: FakeService) -> int:
    return len(service.received)


async def test_reply_needs_a_claim_and_queues_a_text(world: World) -> None:
    browser = await client(world, world.caseworker)
    try:
        path = f"/review/items/{world.alpha}"
        assert (await browser.post(f"{path}/reply", {"text": "We'll call you"}))[0] == 409
        await browser.post(f"{path}/claim", {})
        assert (await browser.post(f"{path}/reply", {"text": "We'll call you"}))[0] == 303
        assert (await browser.post(f"{path}/note", {"text": "called back"}))[0] == 303
        assert (await browser.post(f"{path}/dismiss", {"reason": "handled by phone"}))[0] == 303
        _, page, _ = await browser.get(path)
        assert "called back" in page
        assert "handled by phone" in page
    finally:
        await browser.close()
    async with world.stack.sessions() as session:
        replies = (await session.scalars(select(Action).where(Action.kind == "reply"))).all()
        item = await session.get(ReviewItem, world.alpha)
    assert [r.payload["text"] for r in replies] == ["We'll call you"]
    assert item is not None
    assert item.state == "dismissed"


async def test_two_caseworkers_racing_to_claim_one_item_one_wins(world: World) -> None:
    other = await add_person(world.stack.sessions, "case2@alpha.example", {"alpha": "caseworker"})
    first, second = await client(world, world.caseworker), await client(world, other)
    try:
        results = await asyncio.gather(
            *(browser.post(f"/review/items/{world.alpha}/claim", {}) for browser in (first, second))
        )
        assert sorted(status for status, _, _ in results) == [303, 409]
    finally:
        await first.close()
        await second.close()
