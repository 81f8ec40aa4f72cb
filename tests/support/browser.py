"""Review-queue test helpers: users with known TOTP keys, review items, a signed-in HTTP client,
and a headless Debian Chromium for Playwright."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.message import InboundMessage
from inbound.review import auth
from inbound.store.messages import Messages
from inbound.store.tokens import ApiTokens
from inbound.store.users import Users

PASSWORD = "correct horse battery staple"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    email: str
    totp_secret: str | None
    token: str


async def add_person(
    sessions: async_sessionmaker[AsyncSession],
    email: str,
    roles: dict[str, str],
    *,
    platform_admin: bool = False,
    enrolled: bool = True,
) -> Person:
    """A user with the test password, a TOTP key (unless not enrolled) and an API token."""
    secret = pyotp.random_base32() if enrolled else None
    token = auth.new_token()
    async with sessions.begin() as session:
        users = Users(session)
        user = await users.add(email, auth.hash_password(PASSWORD))
        user.totp_secret = secret
        for service_id, role in roles.items():
            await users.grant(user, service_id, role)
        if platform_admin:
            await users.grant(user, None, "platform_admin")
        await ApiTokens(session).add(user.id, auth.token_hash(token), "tests")
    return Person(email, secret, token)


async def add_item(
    sessions: async_sessionmaker[AsyncSession],
    service_id: str | None,
    text: str,
    *,
    sender: str = "+447700900123",
    recipient: str = "+447700900001",
    age: timedelta = timedelta(minutes=5),
) -> int:
    """A stored message waiting for review; returns the review item's id."""
    when = datetime.now(UTC) - age
    message = InboundMessage(
        provider="generic",
        provider_message_id=f"rv-{uuid.uuid4().hex[:12]}",
        sender=sender,
        recipient=recipient,
        text=text,
        received_at=when,
        accepted_at=when,
    )
    async with sessions.begin() as session:
        repo = Messages(session)
        stored = await repo.add(message, service_id, "review")
        item = await repo.open_review(stored, service_id, "a person decides: test item", None)
        return item.id


class Client:
    """A browser-like HTTP client (cookies kept, redirects not followed)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str) -> tuple[int, str, Any]:
        async with self.http.get(self.base_url + path, allow_redirects=False) as response:
            text = await response.text()
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
            return response.status, text, response.headers

    async def post(
        self, path: str, data: dict[str, str], csrf: bool = True
    ) -> tuple[int, str, Any]:
        form = {**data, "csrf_token": self.csrf} if csrf else data
        async with self.http.post(
            self.base_url + path, data=form, allow_redirects=False
        ) as response:
            return response.status, await response.text(), response.headers

    async def sign_in(self, person: Person) -> None:
        await self.get("/review/sign-in")
        status, _, headers = await self.post(
            "/review/sign-in", {"email": person.email, "password": PASSWORD}
        )
        assert status == 303, status
        assert headers["Location"] == "/review/two-factor"
        await self.get("/review/two-factor")
        assert person.totp_secret is not None
        status, _, headers = await self.post(
            "/review/two-factor", {"code": pyotp.TOTP(person.totp_secret).now()}
        )
        assert status == 303, status
        await self.get("/review/")


async def signed_in(base_url: str, person: Person) -> Client:
    client = Client(base_url)
    await client.sign_in(person)
    return client


def chromium_options() -> dict[str, Any]:
    """Launch options for Debian's Chromium, headless (never a Playwright-downloaded build)."""
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}
