"""Sign-in throttling over real HTTP (SQLite and PostgreSQL): growing delays told in words,
never renewed by attempts made during them, per account and per real client address, decided
before any password is checked, and checks that never hold up other requests (issue 13)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from inbound.config import Settings
from inbound.forwarded import networks
from inbound.review import auth
from tests.integration.conftest import Stack
from tests.integration.sign_in_support import (
    Browsers,
    audit,
    browsers_on,
    caseworker,
    review_stack,
    time_passes,
)
from tests.support.browser import PASSWORD
from tests.support.waiting import eventually

WRONG = "not the password"


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    # Two free failures an account, eight different accounts an address.
    async with review_stack(settings, tmp_path, sign_in_limit=2) as started:
        yield started


@pytest.fixture
async def browsers(stack: Stack) -> AsyncIterator[Browsers]:
    async with browsers_on(stack) as opened:
        yield opened


async def attempt(browsers: Browsers, email: str, password: str = WRONG, **headers: str) -> int:
    _, status, _, _ = await browsers.password_step(email, password, headers or None)
    return status


async def test_a_throttled_sign_in_is_told_how_long_to_wait_in_words(
    stack: Stack, browsers: Browsers
) -> None:
    person = await caseworker(stack, "case@alpha.example")
    assert [await attempt(browsers, person.email) for _ in range(2)] == [401, 401]
    _, status, page, headers = await browsers.password_step(person.email, PASSWORD)
    assert status == 429  # the right password, not even checked
    assert "Too many failed sign-ins. Wait 30 seconds, then try again." in page
    assert headers["Retry-After"] == "30"

    await time_passes(stack, 31)
    assert await attempt(browsers, person.email) == 401  # one more guess, checked and failed
    _, status, page, _ = await browsers.password_step(person.email, PASSWORD)
    assert status == 429
    assert "Wait 1 minute, then try again." in page  # the wait doubled


async def test_attempts_during_a_wait_do_not_extend_it(stack: Stack, browsers: Browsers) -> None:
    person = await caseworker(stack, "case@alpha.example")
    assert [await attempt(browsers, person.email) for _ in range(2)] == [401, 401]
    # Someone keeps trying through the whole wait: refused each time, and the wait stays 30 s.
    assert [await attempt(browsers, person.email) for _ in range(4)] == [429] * 4
    await time_passes(stack, 31)
    assert await attempt(browsers, person.email, PASSWORD) == 303
    assert len(await audit(stack, "sign_in_failed")) == 2
    assert len(await audit(stack, "sign_in_throttled")) == 4


async def test_one_accounts_failures_never_block_another_account_from_the_same_address(
    stack: Stack, browsers: Browsers
) -> None:
    target = await caseworker(stack, "target@alpha.example")
    colleague = await caseworker(stack, "colleague@alpha.example")
    statuses = [await attempt(browsers, target.email) for _ in range(10)]
    assert statuses == [401, 401] + [429] * 8
    assert await attempt(browsers, colleague.email, PASSWORD) == 303


async def test_guesses_sent_at_once_are_not_all_checked(stack: Stack, browsers: Browsers) -> None:
    person = await caseworker(stack, "case@alpha.example")
    statuses = await asyncio.gather(*(attempt(browsers, person.email) for _ in range(6)))
    assert sorted(statuses) == [401, 401, 429, 429, 429, 429]
    assert len(await audit(stack, "sign_in_failed")) == 2


# -- the real client address ------------------------------------------------------------------

CLIENT, OTHER_CLIENT = "198.51.100.7", "198.51.100.8"


@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [
        ("127.0.0.1", CLIENT),  # the test's proxy is trusted: the hop it appended
        ("", "127.0.0.1"),  # the default: X-Forwarded-For is never read
        ("10.0.0.0/8", "127.0.0.1"),  # a proxy elsewhere is trusted, not this peer
    ],
)
async def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(
    settings: Settings, tmp_path: Path, trusted: str, recorded: str
) -> None:
    changes = {"trusted_proxies": networks(trusted)}
    async with review_stack(settings, tmp_path, **changes) as stack, browsers_on(stack) as web:
        status = await attempt(web, "case@alpha.example", **{"X-Forwarded-For": CLIENT})
        assert status == 401
        [failed] = await audit(stack, "sign_in_failed")
    assert failed.address == recorded


async def test_behind_a_proxy_an_address_trying_many_accounts_waits_and_others_do_not(
    settings: Settings, tmp_path: Path
) -> None:
    changes = {"trusted_proxies": networks("127.0.0.1"), "sign_in_limit": 1}
    async with review_stack(settings, tmp_path, **changes) as stack, browsers_on(stack) as web:
        sprayer = {"X-Forwarded-For": CLIENT}
        # Four different accounts may fail from one address (four times the limit of one).
        for n in range(4):
            assert await attempt(web, f"guess{n}@alpha.example", **sprayer) == 401
        assert await attempt(web, "guess4@alpha.example", **sprayer) == 429
        # Everyone else behind the same proxy is someone else.
        other = {"X-Forwarded-For": OTHER_CLIENT}
        assert await attempt(web, "guess4@alpha.example", **other) == 401


# -- password checks off the event loop -------------------------------------------------------


async def test_a_password_check_does_not_hold_up_other_requests(
    stack: Stack, browsers: Browsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    check: Callable[[str | None, str], bool] = auth.check_password

    def slow_check(stored: str | None, password: str) -> bool:
        started.set()
        release.wait(timeout=5)  # bounded, so a check run on the loop would still end
        try:
            return check(stored, password)
        finally:
            finished.set()

    monkeypatch.setattr(auth, "check_password", slow_check)
    person = await caseworker(stack, "case@alpha.example")
    signing_in = asyncio.create_task(attempt(browsers, person.email, PASSWORD))
    try:
        await eventually(lambda: _is_set(started), bool, within=10)
        answer = await asyncio.wait_for(stack.request("GET", "/healthz", b"", {}), 2)
        assert answer.status == 200
        # Answered while the password check was still running (on the loop, it would have had
        # to finish first).
        assert not finished.is_set()
    finally:
        release.set()
    assert await signing_in == 303


async def _is_set(event: threading.Event) -> bool:
    return event.is_set()
