"""The rules page's "test a message" with an optional reminder: what a reply to a prompt expecting
the ticked actions would do, over real HTTP to a running inbound (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inbound.config import Settings
from tests.integration.review_support import Desk, callback_secret, review_desk
from tests.support.browser import Client, add_person, signed_in

__all__ = ["callback_secret"]  # fixtures

PAGE = "/review/services/alpha/rules"


@pytest.fixture
async def admin(settings: Settings, tmp_path: Path) -> AsyncIterator[Client]:
    desk: Desk
    async with review_desk(settings, tmp_path) as desk:
        person = await add_person(
            desk.stack.sessions, "admin@alpha.example", {"alpha": "service_admin"}
        )
        browser = await signed_in(desk.stack.base_url, person)
        try:
            yield browser
        finally:
            await browser.close()


async def test_the_form_offers_the_actions_a_reminder_may_expect_and_none_is_the_text_alone(
    admin: Client,
) -> None:
    status, page, _ = await admin.get(PAGE)
    assert status == 200
    assert 'name="expects" value="confirm"' in page
    assert 'name="expects" value="cancel"' in page
    # Opt-out and opt-in act whatever a reminder asked: never offered.
    assert 'value="opt_out"' not in page
    assert 'value="opt_in"' not in page
    # Nothing ticked: the text is tested alone, as before.
    status, page, _ = await admin.post(PAGE, {"text": "YES"})
    assert status == 200
    assert "confirm (automatic)" in page
    assert "As a reply to a reminder" not in page


@pytest.mark.parametrize(
    ("text", "expects", "verdict", "why"),
    [
        ("YES", ["confirm", "cancel"], "confirm (automatic), answering the reminder", None),
        ("YES", ["cancel"], "A person decides", "not one of the answers"),
        ("maybe", ["confirm"], "A person decides", None),
    ],
)
async def test_a_reply_to_a_reminder_is_decided_as_the_worker_would(
    admin: Client, text: str, expects: list[str], verdict: str, why: str | None
) -> None:
    await admin.get(PAGE)
    form = [("text", text), *(("expects", e) for e in expects), ("csrf_token", admin.csrf)]
    async with admin.http.post(admin.base_url + PAGE, data=form) as response:
        status, page = response.status, await response.text()
    assert status == 200
    assert "As a reply to a reminder expecting" in page
    answer = page[page.index('id="with-prompt"') :]
    assert verdict in answer
    if why is not None:
        assert why in answer
    for action in expects:
        assert f'value="{action}" checked' in page


async def test_an_action_the_page_never_offers_is_a_400(admin: Client) -> None:
    await admin.get(PAGE)
    form = [("text", "STOP"), ("expects", "opt_out"), ("csrf_token", admin.csrf)]
    async with admin.http.post(admin.base_url + PAGE, data=form) as response:
        assert response.status == 400
        assert "expects" in await response.text()
