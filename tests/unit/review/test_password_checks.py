"""The password-check pool: a fixed number of checks at once, a bounded queue, then TooBusy."""

from __future__ import annotations

import asyncio
import threading

import pytest

from inbound.review import auth
from inbound.review.password_checks import PasswordChecks, TooBusy


async def test_checks_beyond_the_workers_and_the_queue_are_refused_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    running: list[str] = []

    def held(stored: str | None, password: str) -> bool:
        running.append(threading.current_thread().name)
        release.wait(timeout=10)
        return password == "right"

    monkeypatch.setattr(auth, "check_password", held)
    checks = PasswordChecks(workers=1, waiting=1)
    try:
        first = asyncio.create_task(checks.check("stored", "right"))
        second = asyncio.create_task(checks.check("stored", "wrong"))
        await asyncio.sleep(0)  # both have taken their place in the pool
        assert checks.in_pool == 2
        with pytest.raises(TooBusy):
            await checks.check("stored", "right")
        release.set()
        assert [await first, await second] == [True, False]
        assert checks.in_pool == 0
        assert all(name.startswith("argon2") for name in running)  # never the event loop's
    finally:
        release.set()
        checks.close()


async def test_a_real_check_runs_in_the_pool() -> None:
    checks = PasswordChecks()
    try:
        stored = auth.hash_password("correct horse")
        assert await checks.check(stored, "correct horse")
        assert not await checks.check(stored, "wrong horse")
        assert not await checks.check(None, "anything")  # no account: same effort, False
    finally:
        checks.close()
