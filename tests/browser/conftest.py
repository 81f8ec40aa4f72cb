"""What the browser tests share: Debian's Chromium, and inbound serving service alpha (its
callbacks answered by a fake service) for the review pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from inbound.config import Settings
from tests.integration.conftest import Stack, running_stack
from tests.integration.review_support import ALPHA_NUMBER
from tests.integration.test_actions import CALLBACK_SECRET, rules_dir
from tests.support.browser import chromium_options
from tests.support.fake_service import FakeService, fake_service


@pytest.fixture(autouse=True)
def callback_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret alpha's callbacks are signed with (its rule file names this variable)."""
    monkeypatch.setenv("INBOUND_TEST_CALLBACK_SECRET", CALLBACK_SECRET)


@pytest.fixture
async def callbacks() -> AsyncIterator[FakeService]:
    """alpha's callback endpoint, answering 200."""
    async with fake_service([200]) as service:
        yield service


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path, callbacks: FakeService) -> AsyncIterator[Stack]:
    """inbound serving service alpha, with cookies allowed over plain http."""
    folder = rules_dir(tmp_path, [("alpha", ALPHA_NUMBER, callbacks.url)])
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as started:
        yield started


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(**chromium_options())
        yield launched
        await launched.close()
