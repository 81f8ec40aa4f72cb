"""The "could not be delivered" page over real HTTP, on SQLite and PostgreSQL: a callback gives
up against a service answering 500, is listed in words, and is delivered when tried again; a
user of another service can neither see it nor try it again; a reply is not sent again to a
number that opted out since; platform admins are told which services have no caseworker, and so
is the log at start-up and at each rules reload."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from structlog.testing import capture_logs

from inbound.config import Settings
from inbound.store.models import Action, AuditEvent, OptOut, User
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_actions import (
    ALPHA,
    BETA,
    CALLBACK_SECRET,
    configured,
    rules_dir,
    send,
    with_notify_service,
)
from tests.support.browser import Client, add_person, signed_in
from tests.support.fake_notify import TEAM_ONLY_ERROR, FakeNotify
from tests.support.fake_service import fake_service
from tests.support.waiting import eventually

SENDER = "+447700900123"


@pytest.fixture
def notify(fake_notify: FakeNotify) -> FakeNotify:
    return with_notify_service(fake_notify)


@pytest.fixture(autouse=True)
def callback_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOUND_TEST_CALLBACK_SECRET", CALLBACK_SECRET)


async def action_row(stack: Stack, action_id: int) -> Action:
    async with stack.sessions() as session:
        found = await session.get(Action, action_id)
        assert found is not None
        return found


async def callbacks(stack: Stack) -> list[Action]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(Action).where(Action.kind == "callback").order_by(Action.id)
        )
        return list(rows)


async def audit(stack: Stack, action: str) -> list[AuditEvent]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


async def user_id(stack: Stack, email: str) -> int:
    async with stack.sessions() as session:
        found = await session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return int(found)


async def test_a_callback_that_gave_up_is_listed_in_words_and_delivered_when_tried_again(
    settings: Settings, tmp_path: Path
) -> None:
    async with fake_service([500]) as service:
        folder = rules_dir(tmp_path, [("alpha", ALPHA, service.url), ("beta", BETA, service.url)])
        changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
        async with running_stack(changed) as stack:
            ana_person = await add_person(
                stack.sessions, "ana@alpha.example", {"alpha": "caseworker"}
            )
            bo_person = await add_person(stack.sessions, "bo@beta.example", {"beta": "caseworker"})
            message_id = await send(stack, "cancel", to=ALPHA, sender=SENDER)
            await eventually(lambda: stack.review_for(message_id), lambda item: item is not None)
            [gave_up] = await callbacks(stack)
            assert gave_up.state == "failed"
            assert len(service.received) == 4
            ana = await signed_in(stack.base_url, ana_person)
            bo = await signed_in(stack.base_url, bo_person)
            try:
                await _listed_and_scoped(stack, ana, bo, gave_up.id)
                service.script = [200]
                await _tried_again(stack, ana, gave_up.id)
                assert len(service.received) == 5
                assert service.received[-1].json()["action"] == "cancel"
            finally:
                await ana.close()
                await bo.close()


async def _listed_and_scoped(stack: Stack, ana: Client, bo: Client, action_id: int) -> None:
    status, page, _ = await ana.get("/review/undelivered")
    assert status == 200
    assert "Could not be delivered" in page
    assert f"#{action_id}" in page
    assert (
        "The service&#39;s callback address answered with an error of its own (HTTP 500), 4 times."
        in page
    )
    assert "+44********23" in page
    assert SENDER not in page
    assert "Try again" in page
    # Another service's caseworker: not listed, and trying it again is a 404, audited.
    status, page, _ = await bo.get("/review/undelivered")
    assert status == 200
    assert f"#{action_id}" not in page
    status, _, _ = await bo.post(f"/review/undelivered/{action_id}/retry", {})
    assert status == 404
    assert (await action_row(stack, action_id)).state == "failed"
    denied = await audit(stack, "denied")
    assert denied[-1].user_id == await user_id(stack, "bo@beta.example")
    assert denied[-1].detail == f"retry action #{action_id}"


async def _tried_again(stack: Stack, ana: Client, action_id: int) -> None:
    status, _, headers = await ana.post(f"/review/undelivered/{action_id}/retry", {})
    assert status == 303
    assert headers["Location"] == f"/review/undelivered?tried={action_id}&kind=callback"
    delivered = await eventually(
        lambda: action_row(stack, action_id), lambda row: row.state == "delivered"
    )
    assert delivered.attempts == 1
    [retried] = await audit(stack, "retry_action")
    assert retried.user_id == await user_id(stack, "ana@alpha.example")
    assert retried.service_id == "alpha"
    assert retried.detail == f"callback #{action_id} after 4 attempts: HTTP 500"
    status, page, _ = await ana.get(headers["Location"])
    assert status == 200
    assert f"Callback #{action_id} is being sent again" in page
    # The banner's words are fixed: a link can't make it say anything else.
    _, page, _ = await ana.get(f"/review/undelivered?tried={action_id}&kind=Your+account+is+locked")
    assert f"Callback or text #{action_id} is being sent again" in page
    assert "locked" not in page
    assert f'id="retry-{action_id}"' not in page
    # Delivered now: trying again is refused, in the error summary.
    status, page, _ = await ana.post(f"/review/undelivered/{action_id}/retry", {})
    assert status == 409
    assert "There is a problem" in page
    assert f"#{action_id} can&#39;t be sent again: it has been delivered" in page


async def test_platform_admins_are_told_which_services_have_no_caseworker(
    settings: Settings, tmp_path: Path
) -> None:
    folder = rules_dir(
        tmp_path, [("alpha", ALPHA, "http://127.0.0.1:9/"), ("beta", BETA, "http://127.0.0.1:9/")]
    )
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    with capture_logs() as logs:
        async with running_stack(changed) as stack:
            started = [line for line in logs if line["event"] == "service_without_caseworker"]
            assert sorted(line["service"] for line in started) == ["alpha", "beta"]
            ana = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
            ops = await add_person(stack.sessions, "ops@example.org", {}, platform_admin=True)
            admin = await signed_in(stack.base_url, ops)
            caseworker = await signed_in(stack.base_url, ana)
            try:
                for path in ("/review/", "/review/undelivered"):
                    status, page, _ = await admin.get(path)
                    assert status == 200
                    assert "A service has no caseworker" in page
                    assert "--service beta --role caseworker" in page
                    assert "--service alpha" not in page
                    status, page, _ = await caseworker.get(path)
                    assert status == 200
                    assert "no caseworker" not in page
            finally:
                await admin.close()
                await caseworker.close()
            # A reload (a rule file changed) says it again, for the services still without one.
            logs.clear()
            (folder / "beta.yaml").write_text((folder / "beta.yaml").read_text() + "\n")
            await eventually(
                lambda: _events(logs),
                lambda events: "service_without_caseworker" in events,
                within=20,
            )
            assert "rules_reloaded" in await _events(logs)
            warned = [line for line in logs if line["event"] == "service_without_caseworker"]
            assert [line["service"] for line in warned] == ["beta"]
            assert warned[0]["log_level"] == "warning"


async def _events(logs: list[dict[str, object]]) -> list[object]:
    await asyncio.sleep(0)
    return [line["event"] for line in logs]


async def test_a_reply_that_gave_up_is_not_sent_again_to_a_number_that_opted_out(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    notify.fail_next(500, times=4)
    async with fake_service([200]) as service:
        folder = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        changed = configured(settings, folder, notify, cookie_secure=False)
        async with running_stack(changed) as stack:
            person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
            await send(stack, "yes", to=ALPHA, sender=SENDER)
            [reply] = await eventually(
                lambda: _replies(stack), lambda rows: bool(rows) and rows[0].state == "failed"
            )
            ana = await signed_in(stack.base_url, person)
            try:
                status, page, _ = await ana.get("/review/undelivered")
                assert status == 200
                assert "Text reply" in page
                assert "GOV.UK Notify was unavailable (HTTP 500), 4 times." in page
                assert "Notify said: “Internal server error”" in page
                assert "Thanks, confirmed." in page
                await send(stack, "stop", to=ALPHA, sender=SENDER)
                await eventually(lambda: _opted_out(stack), lambda found: found)
                # The opt-out's own reply goes (Notify answers again): counted before the retry.
                await eventually(_sent_by(notify), lambda sent: sent == 1)
                tried = len(notify.requests)
                status, page, _ = await ana.post(f"/review/undelivered/{reply.id}/retry", {})
                assert status == 409
                assert "opted out" in page
                assert (await action_row(stack, reply.id)).state == "failed"
                assert len(notify.requests) == tried
                assert await audit(stack, "retry_action") == []
            finally:
                await ana.close()


def _sent_by(notify: FakeNotify) -> Callable[[], Awaitable[int]]:
    async def sent() -> int:
        return len(notify.sent)

    return sent


async def _replies(stack: Stack) -> list[Action]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(Action).where(Action.kind == "reply").order_by(Action.id)
        )
        return list(rows)


async def _opted_out(stack: Stack) -> bool:
    async with stack.sessions() as session:
        found = await session.scalar(select(OptOut.id).where(OptOut.number == SENDER))
        return found is not None


async def test_notifys_refusal_is_shown_in_its_words_on_the_undelivered_and_item_pages(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    # A team-only key and a number outside the team: Notify's 400 is final at the first try.
    [service] = notify.services.values()
    team_key = notify.mint_key(service, key_type="team")
    async with fake_service([200]) as callbacks:
        folder = rules_dir(tmp_path, [("alpha", ALPHA, callbacks.url)])
        changed = configured(
            settings, folder, notify, cookie_secure=False, notify_api_key=SecretStr(team_key)
        )
        async with running_stack(changed) as stack:
            person = await add_person(stack.sessions, "ana@alpha.example", {"alpha": "caseworker"})
            message_id = await send(stack, "yes", to=ALPHA, sender=SENDER)
            [reply] = await eventually(
                lambda: _replies(stack), lambda rows: bool(rows) and rows[0].state == "failed"
            )
            item = await eventually(lambda: stack.review_for(message_id), lambda found: found)
            assert item is not None
            ana = await signed_in(stack.base_url, person)
            try:
                _, undelivered, _ = await ana.get("/review/undelivered")
                status, item_page, _ = await ana.get(f"/review/items/{item.id}")
            finally:
                await ana.close()
    assert reply.attempts == 1
    assert reply.last_error == f"Notify answered HTTP 400: {TEAM_ONLY_ERROR}"
    words = f"GOV.UK Notify refused the text (HTTP 400), once. Notify said: “{TEAM_ONLY_ERROR}”"
    assert words in html.unescape(undelivered)
    assert status == 200
    assert f"Not delivered: {words}" in html.unescape(_text(item_page))
    assert notify.sent == []


def _text(page: str) -> str:
    """The page's words, tags and runs of white space dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
