"""A running inbound with one service (alpha), a caseworker of it, and items to work: what the
review hardening, fuzz and API schema tests share."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from inbound.config import Settings
from inbound.states import ActionKind
from inbound.store.models import Action, Note
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_actions import CALLBACK_SECRET, rules_dir
from tests.support.browser import Client, Person, add_item, add_person, signed_in
from tests.support.fake_service import fake_service

ALPHA_NUMBER = "+447700900001"


@dataclass
class Desk:
    """The stack, and a caseworker of alpha signed in over HTTP."""

    stack: Stack
    caseworker: Person
    browser: Client

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.caseworker.token}"}

    async def item(self, text: str = "can I come at 3?", sender: str | None = None) -> int:
        """A fresh alpha item from its own number (so no reply cap is shared)."""
        number = sender or f"+4477009{uuid.uuid4().int % 100_000:05d}"
        return await add_item(
            self.stack.sessions, "alpha", text, sender=number, recipient=ALPHA_NUMBER
        )

    async def claimed(self, text: str = "can I come at 3?", sender: str | None = None) -> int:
        """A fresh item the caseworker holds."""
        item = await self.item(text, sender)
        status, _, _ = await self.browser.post(f"/review/items/{item}/claim", {})
        assert status == 303, status
        return item

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        url = self.stack.base_url + path
        async with self.stack.http.request(
            method, url, headers=self.api_headers, **kwargs
        ) as response:
            body = await response.json(content_type=None)
            return response.status, body

    async def replies(self) -> list[Action]:
        async with self.stack.sessions() as session:
            found = await session.scalars(
                select(Action).where(Action.kind == ActionKind.REPLY).order_by(Action.id)
            )
            return list(found)

    async def notes(self) -> list[str]:
        async with self.stack.sessions() as session:
            return list(await session.scalars(select(Note.text).order_by(Note.id)))

    async def note_count(self) -> int:
        async with self.stack.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Note)) or 0)


@asynccontextmanager
async def review_desk(settings: Settings, tmp_path: Path, **changes: Any) -> AsyncIterator[Desk]:
    """inbound serving /review and /api for service alpha, with a signed-in caseworker."""
    async with fake_service([200]) as callbacks:
        folder = rules_dir(tmp_path, [("alpha", ALPHA_NUMBER, callbacks.url)])
        changed = settings.model_copy(
            update={"rules_dir": folder, "cookie_secure": False, **changes}
        )
        async with running_stack(changed) as stack:
            person = await add_person(
                stack.sessions,
                f"case-{uuid.uuid4().hex[:6]}@alpha.example",
                {"alpha": "caseworker"},
            )
            browser = await signed_in(stack.base_url, person)
            try:
                yield Desk(stack, person, browser)
            finally:
                await browser.close()


# Fixtures: a test module imports them by name (and lists them in __all__).
@pytest.fixture(autouse=True)
def callback_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret alpha's callbacks are signed with (its rule file names this variable)."""
    monkeypatch.setenv("INBOUND_TEST_CALLBACK_SECRET", CALLBACK_SECRET)


@pytest.fixture
async def desk(settings: Settings, tmp_path: Path) -> AsyncIterator[Desk]:
    """inbound serving /review and /api for service alpha, with a signed-in caseworker."""
    async with review_desk(settings, tmp_path) as started:
        yield started
