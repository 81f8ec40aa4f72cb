"""The opt-out register page over real HTTP, on SQLite and PostgreSQL: a number that texted STOP
is listed (masked) and found however it is typed; something that can't be a number is an error
summary linked to the field; the register pages newest first; a service admin opts a number back
in with a reason, through a check step, audited; a caseworker may look but not opt back in;
another service's register, or entry, is a 404 (audited as denied); every POST needs the token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import AuditEvent, OptOut, User
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_actions import ALPHA, BETA, CALLBACK_SECRET, rules_dir, send
from tests.support.browser import Client, add_person, signed_in
from tests.support.waiting import eventually

REGISTER = "/review/services/alpha/opt-outs"
SENDER = "+447700900123"
MASKED = "+44********23"


@pytest.fixture(autouse=True)
def callback_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOUND_TEST_CALLBACK_SECRET", CALLBACK_SECRET)


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """inbound with services alpha and beta (whose rules opt out on "stop"), on plain HTTP."""
    url = "http://127.0.0.1:9/callback"
    folder = rules_dir(tmp_path, [("alpha", ALPHA, url), ("beta", BETA, url)])
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as started:
        yield started


@pytest.fixture
async def lead(stack: Stack) -> AsyncIterator[Client]:
    """alpha's service admin, signed in."""
    person = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    client = await signed_in(stack.base_url, person)
    yield client
    await client.close()


async def register(stack: Stack, service: str = "alpha") -> list[OptOut]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(OptOut).where(OptOut.service_id == service).order_by(OptOut.id)
        )
        return list(rows)


async def add_opt_out(stack: Stack, service: str, number: str, when: datetime) -> int:
    async with stack.sessions.begin() as session:
        row = OptOut(service_id=service, number=number, opted_out_at=when)
        session.add(row)
        await session.flush()
        return row.id


async def audit(stack: Stack, *actions: str) -> list[AuditEvent]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)
        )
        return list(rows)


async def user_id(stack: Stack, email: str) -> int:
    async with stack.sessions() as session:
        found = await session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return found


async def test_a_number_that_said_stop_is_listed_masked_and_found_however_it_is_typed(
    stack: Stack, lead: Client
) -> None:
    await send(stack, "stop", to=ALPHA, sender=SENDER)
    await eventually(lambda: register(stack), lambda rows: len(rows) == 1)
    status, page, _ = await lead.get(REGISTER)
    assert status == 200
    assert "Numbers that opted out" in page
    assert "1 number opted out" in page
    assert MASKED in page
    assert SENDER not in page

    for typed in ("07700 900123", "+44 7700 900123", "0044 (0)7700-900123", "447700900123"):
        status, page, _ = await lead.post(REGISTER, {"number": typed})
        assert status == 200, typed
        assert f'<strong class="text">{SENDER}</strong> opted out of Service alpha' in page
    status, page, _ = await lead.post(REGISTER, {"number": "07700 900999"})
    assert status == 200
    assert "+447700900999</strong> is not on Service alpha's list" in page

    # Not a number: the error summary, linked to the field, and the list still there.
    for typed in ("call me maybe", "0770", ""):
        status, page, _ = await lead.post(REGISTER, {"number": typed})
        assert status == 400, typed
        assert "There is a problem" in page
        assert re.search(r'<a href="#number">Enter a phone number', page), typed
        assert 'id="number-error"' in page
        assert MASKED in page

    searches = await audit(stack, "search_opt_outs")
    assert [e.detail for e in searches][-1] == "+44********99: not on it"
    assert all(e.detail and SENDER not in e.detail for e in searches)
    assert len(searches) == 5
    assert await audit(stack, "view_opt_outs")


async def test_the_register_pages_newest_first(stack: Stack, lead: Client) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(55):
        await add_opt_out(stack, "alpha", f"+4477009{n:05d}", start + timedelta(hours=n))
    await add_opt_out(stack, "beta", "+447700955555", start)
    status, page, _ = await lead.get(REGISTER)
    assert status == 200
    assert "55 numbers opted out" in page
    shown = re.findall(r'<th scope="row" class="govuk-table__header">([^<]+)</th>', page)
    assert len(shown) == 50
    assert shown[0] == "+44********54"  # the newest
    assert 'class="govuk-pagination"' in page
    assert 'href="/review/services/alpha/opt-outs?page=2" rel="next"' in page
    assert "+44********55" not in page  # beta's
    status, page, _ = await lead.get(REGISTER + "?page=2")
    assert status == 200
    shown = re.findall(r'<th scope="row" class="govuk-table__header">([^<]+)</th>', page)
    assert shown == [
        "+44********04",
        "+44********03",
        "+44********02",
        "+44********01",
        "+44********00",
    ]
    assert 'aria-label="Page 2" aria-current="page"' in page
    assert 'rel="prev"' in page
    status, _, _ = await lead.get(REGISTER + "?page=3")
    assert status == 404
    status, page, _ = await lead.get(REGISTER + "?page=two")
    assert status == 400
    assert "page= must be a page number" in page


async def test_a_service_admin_opts_a_number_back_in_with_a_reason_after_a_check(
    stack: Stack, lead: Client
) -> None:
    entry = await add_opt_out(stack, "alpha", SENDER, datetime.now(UTC))
    status, page, _ = await lead.get(REGISTER)
    opt_in = f"{REGISTER}/{entry}/opt-in"
    assert f'href="{opt_in}"' in page
    status, page, _ = await lead.get(opt_in)
    assert status == 200
    assert f"Opt {MASKED} back in" in page

    # No reason: the error summary linked to the field; nothing changes.
    status, page, _ = await lead.post(opt_in, {"reason": "  "})
    assert status == 400
    assert '<a href="#reason">Enter why this number is being opted back in</a>' in page
    assert len(await register(stack)) == 1

    # A reason: the check page says what will happen, and still nothing changes.
    reason = "Phoned on 3 March and asked for reminders again"
    status, page, _ = await lead.post(opt_in, {"reason": reason})
    assert status == 200
    assert "Check before you opt this number back in" in page
    assert "Service alpha will be able to text this number again" in page
    assert f'name="reason" value="{reason}"' in page
    assert len(await register(stack)) == 1
    # "Change the reason" goes back to the form, as typed.
    status, page, _ = await lead.post(opt_in, {"reason": reason, "change": "yes"})
    assert status == 200
    assert f">{reason}</textarea>" in page
    assert len(await register(stack)) == 1

    status, _, headers = await lead.post(opt_in, {"reason": reason, "confirmed": "yes"})
    assert status == 303
    assert headers["Location"] == REGISTER + "?done=opted-in"
    assert await register(stack) == []
    _, page, _ = await lead.get(headers["Location"])
    assert "The number is opted back in. Service alpha can text it again." in page
    [event] = await audit(stack, "opted_back_in")
    assert event.user_id == await user_id(stack, "lead@alpha.example")
    assert event.service_id == "alpha"
    assert event.subject == MASKED
    assert event.detail is not None
    assert event.detail.startswith(f"opt-out #{entry} of ")
    assert event.detail.endswith(": " + reason)

    # Twice (a second tab): it is gone, so not found, and not audited again.
    status, _, _ = await lead.post(opt_in, {"reason": reason, "confirmed": "yes"})
    assert status == 404
    assert len(await audit(stack, "opted_back_in")) == 1


async def test_a_caseworker_may_look_but_only_admins_opt_back_in(
    stack: Stack, lead: Client
) -> None:
    entry = await add_opt_out(stack, "alpha", SENDER, datetime.now(UTC))
    ana = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
    caseworker = await signed_in(stack.base_url, ana)
    try:
        status, page, _ = await caseworker.get(REGISTER)
        assert status == 200
        assert MASKED in page
        assert "Only the service's admins can opt a number back in" in page
        assert "/opt-in" not in page
        status, page, _ = await caseworker.post(REGISTER, {"number": "07700 900123"})
        assert status == 200
        assert "opted out of Service alpha" in page
        assert "/opt-in" not in page
        status, page, _ = await caseworker.get(f"{REGISTER}/{entry}/opt-in")
        assert status == 403
        assert "Only service admins can opt a number back in" in page
        status, _, _ = await caseworker.post(
            f"{REGISTER}/{entry}/opt-in", {"reason": "they asked", "confirmed": "yes"}
        )
        assert status == 403
    finally:
        await caseworker.close()
    assert len(await register(stack)) == 1
    assert await audit(stack, "opted_back_in") == []
    denied = await audit(stack, "denied")
    assert [e.detail for e in denied] == [f"opt back in #{entry}"] * 2
    # The queue's navigation links the register.
    _, page, _ = await lead.get("/review/")
    assert 'href="/review/opt-outs"' in page
    status, _, headers = await lead.get("/review/opt-outs")
    assert status == 303
    assert headers["Location"] == REGISTER


async def test_another_services_register_and_entries_are_not_found(
    stack: Stack, lead: Client
) -> None:
    alpha_entry = await add_opt_out(stack, "alpha", SENDER, datetime.now(UTC))
    beta_entry = await add_opt_out(stack, "beta", SENDER, datetime.now(UTC))
    bo = await add_person(stack.sessions, "bo@beta.example", {"beta": "service_admin"})
    ops = await add_person(stack.sessions, "ops@example.org", {}, platform_admin=True)
    other = await signed_in(stack.base_url, bo)
    platform = await signed_in(stack.base_url, ops)
    try:
        for path in (REGISTER, f"{REGISTER}/{alpha_entry}/opt-in"):
            status, _, _ = await other.get(path)
            assert status == 404, path
        status, _, _ = await other.post(REGISTER, {"number": "07700 900123"})
        assert status == 404
        status, _, _ = await other.post(
            f"{REGISTER}/{alpha_entry}/opt-in", {"reason": "x", "confirmed": "yes"}
        )
        assert status == 404
        # beta's entry id on alpha's register is not alpha's to change.
        status, _, _ = await lead.post(
            f"{REGISTER}/{beta_entry}/opt-in", {"reason": "x", "confirmed": "yes"}
        )
        assert status == 404
        status, _, _ = await lead.get("/review/services/nowhere/opt-outs")
        assert status == 404
        status, _, _ = await lead.get(f"{REGISTER}/99999999999/opt-in")
        assert status == 404
        # A platform admin sees every service's register, and may opt back in.
        status, page, _ = await platform.get("/review/opt-outs")
        assert status == 200
        assert 'href="/review/services/beta/opt-outs"' in page
        status, page, _ = await platform.get("/review/services/beta/opt-outs")
        assert status == 200
        assert f"/review/services/beta/opt-outs/{beta_entry}/opt-in" in page
    finally:
        await other.close()
        await platform.close()
    assert len(await register(stack, "alpha")) == 1
    assert len(await register(stack, "beta")) == 1
    denied = await audit(stack, "denied")
    assert {e.detail for e in denied} >= {
        "opt-outs",
        "opt-outs search",
        f"opt back in #{alpha_entry}",
        f"opt back in #{beta_entry}",
    }
    assert all(e.service_id for e in denied)


async def test_every_post_needs_the_forms_token(stack: Stack, lead: Client) -> None:
    entry = await add_opt_out(stack, "alpha", SENDER, datetime.now(UTC))
    status, _, _ = await lead.post(REGISTER, {"number": "07700 900123"}, csrf=False)
    assert status == 403
    status, page, _ = await lead.post(
        f"{REGISTER}/{entry}/opt-in", {"reason": "they asked", "confirmed": "yes"}, csrf=False
    )
    assert status == 403
    assert "The form expired" in page
    assert len(await register(stack)) == 1
    assert await audit(stack, "search_opt_outs", "opted_back_in") == []
