"""The team page over real HTTP, on SQLite and PostgreSQL: a service admin invites someone, who
signs in with the password shown once and is asked to enrol; changes a role; disables (their
sign-in is refused) and enables; resets two-factor (they enrol again). A caseworker and another
service's admin get a 404, a platform admin sees every team; the last admin can't step down;
every change is in the audit log with who, what and whom."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import AuditEvent, Membership, User
from tests.integration.conftest import Stack, running_stack
from tests.integration.sign_in_support import Browsers, browsers_on, code, enrol_page_secret
from tests.integration.test_actions import ALPHA, BETA, rules_dir
from tests.support.browser import Client, add_person, signed_in

PASSWORD_SHOWN = re.compile(r'id="initial-password">([^<]+)</code>')
TEAM = "/review/services/alpha/team"


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """inbound with services alpha and beta, on plain HTTP."""
    url = "http://127.0.0.1:9/callback"
    folder = rules_dir(tmp_path, [("alpha", ALPHA, url), ("beta", BETA, url)])
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as started:
        yield started


@pytest.fixture
async def browsers(stack: Stack) -> AsyncIterator[Browsers]:
    async with browsers_on(stack) as opened:
        yield opened


@pytest.fixture
async def lead(stack: Stack) -> AsyncIterator[Client]:
    """alpha's one service admin, signed in."""
    person = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    client = await signed_in(stack.base_url, person)
    yield client
    await client.close()


async def user(stack: Stack, email: str) -> User:
    async with stack.sessions() as session:
        found = await session.scalar(select(User).where(User.email == email))
        assert found is not None
        return found


async def role(stack: Stack, email: str, service: str = "alpha") -> str | None:
    async with stack.sessions() as session:
        found = await session.scalar(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email, Membership.service_id == service)
        )
        return str(found) if found is not None else None


async def audit(stack: Stack, *actions: str) -> list[AuditEvent]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)
        )
        return list(rows)


async def test_an_invited_person_signs_in_with_the_password_shown_once_and_must_enrol(
    stack: Stack, lead: Client, browsers: Browsers
) -> None:
    status, page, _ = await lead.get(TEAM)
    assert status == 200
    assert "Your team" in page
    assert "lead@alpha.example" in page
    status, page, _ = await lead.get(TEAM + "/invite")
    assert status == 200
    status, page, _ = await lead.post(
        TEAM + "/invite", {"email": " New.Person@Alpha.example ", "role": "caseworker"}
    )
    assert status == 200
    assert "new.person@alpha.example is in the team as a caseworker" in page
    found = PASSWORD_SHOWN.search(page)
    assert found is not None
    password = found.group(1)
    invited = await user(stack, "new.person@alpha.example")
    assert invited.totp_secret is None
    assert password not in invited.password_hash
    assert await role(stack, "new.person@alpha.example") == "caseworker"
    [event] = await audit(stack, "member_invited")
    assert event.user_id == (await user(stack, "lead@alpha.example")).id
    assert event.subject == "new.person@alpha.example"
    assert event.service_id == "alpha"
    assert event.detail is not None
    assert event.detail.startswith(f"user #{invited.id} as caseworker")
    assert password not in event.detail

    # They sign in with it and are asked to set up two-factor, then get in.
    browser, status, _, headers = await browsers.password_step("new.person@alpha.example", password)
    assert status == 303
    assert headers["Location"] == "/review/enrol"
    secret = await enrol_page_secret(browser)
    status, _, headers = await browser.post("/review/enrol", {"code": code(secret)})
    assert status == 303
    assert headers["Location"] == "/review/"

    # The list says so; the password is not on it.
    status, page, _ = await lead.get(TEAM)
    assert "new.person@alpha.example" in page
    assert password not in page

    # The same address again, and one that isn't an address: the error summary, nothing made.
    status, page, _ = await lead.post(
        TEAM + "/invite", {"email": "new.person@alpha.example", "role": "service_admin"}
    )
    assert status == 400
    assert "There is a problem" in page
    assert '<a href="#email">new.person@alpha.example is already in this team' in page
    assert await role(stack, "new.person@alpha.example") == "caseworker"
    status, page, _ = await lead.post(TEAM + "/invite", {"email": "nobody", "role": ""})
    assert status == 400
    assert '<a href="#email">Enter an email address in the correct format' in page
    assert '<a href="#role">Select a role</a>' in page
    assert 'value="nobody"' in page
    status, page, _ = await lead.post(TEAM + "/invite", {"email": "x@alpha.example", "role": ""})
    assert status == 400
    assert '<a href="#role">Select a role</a>' in page
    assert len(await audit(stack, "member_invited")) == 1


async def test_an_admin_changes_a_role_disables_enables_and_resets_two_factor(
    stack: Stack, lead: Client, browsers: Browsers
) -> None:
    ana_person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    ana = await user(stack, "ana@alpha.example")
    lead_id = (await user(stack, "lead@alpha.example")).id
    member = f"{TEAM}/{ana.id}"

    status, page, _ = await lead.get(member + "/role")
    assert status == 200
    status, _, headers = await lead.post(member + "/role", {"role": "service_admin"})
    assert status == 303
    assert headers["Location"] == f"{TEAM}?done=role&member={ana.id}"
    assert await role(stack, "ana@alpha.example") == "service_admin"
    _, page, _ = await lead.get(headers["Location"])
    assert "ana@alpha.example is now a service admin." in page

    # Disabled: the session they had ends, and signing in is refused.
    ana_browser = await signed_in(stack.base_url, ana_person)
    try:
        status, page, _ = await lead.get(member + "/disable")
        assert status == 200
        assert "govuk-button--warning" in page
        status, _, headers = await lead.post(member + "/disable", {})
        assert status == 303
        status, _, headers = await ana_browser.get("/review/")
        assert status == 303
        assert headers["Location"] == "/review/sign-in"
    finally:
        await ana_browser.close()
    _, status, page, _ = await browsers.password_step("ana@alpha.example")
    assert status == 401
    _, page, _ = await lead.get(f"{TEAM}?done=disable&member={ana.id}")
    assert "ana@alpha.example is disabled" in page

    status, _, _ = await lead.post(member + "/enable", {})
    assert status == 303
    _, status, _, headers = await browsers.password_step("ana@alpha.example")
    assert status == 303
    assert headers["Location"] == "/review/two-factor"

    # Two-factor reset: the key goes, and the next sign-in enrols again.
    status, _, _ = await lead.post(member + "/reset-two-factor", {})
    assert status == 303
    assert (await user(stack, "ana@alpha.example")).totp_secret is None
    _, status, _, headers = await browsers.password_step("ana@alpha.example")
    assert status == 303
    assert headers["Location"] == "/review/enrol"
    # Not enrolled now: there is nothing to reset.
    status, page, _ = await lead.post(member + "/reset-two-factor", {})
    assert status == 409
    assert "has not set up two-factor yet" in page

    events = await audit(
        stack, "member_role_changed", "member_disabled", "member_enabled", "member_two_factor_reset"
    )
    assert [(e.action, e.user_id, e.subject, e.service_id) for e in events] == [
        ("member_role_changed", lead_id, "ana@alpha.example", "alpha"),
        ("member_disabled", lead_id, "ana@alpha.example", "alpha"),
        ("member_enabled", lead_id, "ana@alpha.example", "alpha"),
        ("member_two_factor_reset", lead_id, "ana@alpha.example", "alpha"),
    ]
    assert events[0].detail == f"user #{ana.id}: caseworker to service admin"


async def test_only_the_services_admins_and_platform_admins_see_a_team(
    stack: Stack, lead: Client
) -> None:
    ana = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    bo = await add_person(stack.sessions, "bo@beta.example", {"beta": "service_admin"})
    ops = await add_person(stack.sessions, "ops@example.org", {}, platform_admin=True)
    lead_id = (await user(stack, "lead@alpha.example")).id
    caseworker = await signed_in(stack.base_url, ana)
    other = await signed_in(stack.base_url, bo)
    platform = await signed_in(stack.base_url, ops)
    try:
        for client in (caseworker, other):
            for path in (TEAM, TEAM + "/invite", f"{TEAM}/{lead_id}/disable", "/review/team"):
                if client is other and path == "/review/team":
                    continue  # bo manages beta's team: /review/team takes bo there
                status, _, _ = await client.get(path)
                assert status == 404, (path, status)
            status, _, _ = await client.post(f"{TEAM}/{lead_id}/disable", {})
            assert status == 404
            status, _, _ = await client.post(
                TEAM + "/invite", {"email": "x@alpha.example", "role": "service_admin"}
            )
            assert status == 404
        assert (await user(stack, "lead@alpha.example")).disabled_at is None
        status, _, _ = await caseworker.get("/review/services/nowhere/team")
        assert status == 404
        status, _, headers = await other.get("/review/team")
        assert status == 303
        assert headers["Location"] == "/review/services/beta/team"
        # A member of another service's team is not in this one.
        bo_id = (await user(stack, "bo@beta.example")).id
        status, _, _ = await lead.post(f"{TEAM}/{bo_id}/disable", {})
        assert status == 404
        assert (await user(stack, "bo@beta.example")).disabled_at is None
        # A platform admin sees every service's team.
        for path in (TEAM, "/review/services/beta/team"):
            status, page, _ = await platform.get(path)
            assert status == 200
        status, page, _ = await platform.get("/review/team")
        assert status == 200
        assert "/review/services/beta/team" in page
        denied = await audit(stack, "denied")
        assert {e.detail for e in denied} >= {"team", "invite", f"disable member #{lead_id}"}
        assert all(e.service_id for e in denied)
        assert await audit(stack, "member_invited", "member_disabled") == []
    finally:
        for client in (caseworker, other, platform):
            await client.close()


async def test_the_last_admin_can_neither_step_down_nor_disable_themselves(
    stack: Stack, lead: Client
) -> None:
    lead_id = (await user(stack, "lead@alpha.example")).id
    me = f"{TEAM}/{lead_id}"
    status, page, _ = await lead.post(me + "/role", {"role": "caseworker"})
    assert status == 400
    assert "There is a problem" in page
    assert '<a href="#role">You are the only active service admin of alpha' in page
    status, page, _ = await lead.post(me + "/disable", {})
    assert status == 409
    assert '<a href="#confirm">You are the only active service admin of alpha' in page
    assert await role(stack, "lead@alpha.example") == "service_admin"
    assert (await user(stack, "lead@alpha.example")).disabled_at is None
    assert await audit(stack, "member_role_changed", "member_disabled") == []
    # With a second admin, they may.
    await add_person(stack.sessions, "ana@alpha.example", {"alpha": "service_admin"})
    status, _, _ = await lead.post(me + "/role", {"role": "caseworker"})
    assert status == 303
    assert await role(stack, "lead@alpha.example") == "caseworker"
    # And, a caseworker now, they no longer see the team.
    status, _, _ = await lead.get(TEAM)
    assert status == 404
