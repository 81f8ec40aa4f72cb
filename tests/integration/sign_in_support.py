"""What the sign-in tests share: a running inbound with the review pages, people to sign in,
codes of a chosen time step, raw HTTP, and the audit log aged as if time had passed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import AuditEvent, User
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_actions import rules_dir
from tests.support.browser import PASSWORD, Client, Person, add_person

ALPHA_NUMBER = "+447700900001"


@asynccontextmanager
async def review_stack(settings: Settings, tmp_path: Path, **changes: Any) -> AsyncIterator[Stack]:
    """inbound with one service (alpha) on plain HTTP, with these settings changed."""
    folder = rules_dir(tmp_path, [("alpha", ALPHA_NUMBER, "http://127.0.0.1:9/callback")])
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False, **changes})
    async with running_stack(changed) as stack:
        yield stack


async def caseworker(stack: Stack, email: str, *, enrolled: bool = True) -> Person:
    """A caseworker of alpha with the test password (and a TOTP key unless not enrolled)."""
    return await add_person(stack.sessions, email, {"alpha": "caseworker"}, enrolled=enrolled)


def code(secret: str, steps_from_now: int = 0) -> str:
    """The code of the current time step, or one either side (which inbound accepts)."""
    when = datetime.now(UTC) + timedelta(seconds=30 * steps_from_now)
    return pyotp.TOTP(secret).at(when)


class Browsers:
    """Browser-like clients on one stack, all closed at the end of the test."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._open: list[Client] = []

    def new(self) -> Client:
        client = Client(self.stack.base_url)
        self._open.append(client)
        return client

    async def password_step(
        self, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None
    ) -> tuple[Client, int, str, Any]:
        """A fresh browser that opened the sign-in page and sent a password: (browser, status,
        page, headers). `headers` go with the POST (e.g. X-Forwarded-For)."""
        browser = self.new()
        await browser.get("/review/sign-in")
        form = {"email": email, "password": password, "csrf_token": browser.csrf}
        async with browser.http.post(
            self.stack.base_url + "/review/sign-in",
            data=form,
            headers=headers or {},
            allow_redirects=False,
        ) as response:
            return browser, response.status, await response.text(), response.headers

    async def close(self) -> None:
        for client in self._open:
            await client.close()


@asynccontextmanager
async def browsers_on(stack: Stack) -> AsyncIterator[Browsers]:
    opened = Browsers(stack)
    try:
        yield opened
    finally:
        await opened.close()


async def enrol_page_secret(browser: Client) -> str:
    """The key the enrolment page shows (and reads its CSRF token)."""
    status, page, _ = await browser.get("/review/enrol")
    assert status == 200, status
    return page.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")


async def stored_user(stack: Stack, email: str) -> User:
    async with stack.sessions() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


async def audit(stack: Stack, action: str) -> list[AuditEvent]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.all())


async def time_passes(stack: Stack, seconds: float) -> None:
    """Age every audit event, as if `seconds` had gone by (throttling reads only the log)."""
    async with stack.sessions.begin() as session:
        for event in (await session.scalars(select(AuditEvent))).all():
            event.at = event.at - timedelta(seconds=seconds)


@dataclass(frozen=True)
class Raw:
    """An answer read off the socket."""

    status: int
    headers: dict[str, str]
    body: str


async def raw_post(
    base_url: str, path: str, content_type: str | None, body: bytes, cookies: dict[str, str]
) -> Raw:
    """POST exactly these bytes (no client library tidying them up) and read the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    head, _, rest = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Raw(int(status_line.split()[1]), headers, rest.decode("utf-8", "replace"))


def cookies_of(browser: Client) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in browser.http.cookie_jar}


# Fixtures: a test module imports them by name (and lists them in __all__).
@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """inbound serving the review pages for service alpha."""
    async with review_stack(settings, tmp_path) as started:
        yield started


@pytest.fixture
async def browsers(stack: Stack) -> AsyncIterator[Browsers]:
    """Clients that sign in to `stack` as a person's browser would."""
    async with browsers_on(stack) as opened:
        yield opened
