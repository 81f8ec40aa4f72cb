"""A running inbound (receiver + rules worker) on a real port, RabbitMQ and database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from yarl import URL

from inbound import bootstrap
from inbound.config import Settings
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.store.database import create_engine, session_factory
from inbound.store.models import Message, Outcome, ReviewItem
from tests.conftest import EXAMPLE_RULES, GENERIC_SECRET, TWILIO_ACCOUNT, TWILIO_TOKEN
from tests.support.process import free_port
from tests.support.waiting import eventually


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's database (SQLite or PostgreSQL)."""
    created = create_engine(database_url)
    yield created
    await created.dispose()


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    """The example rules, compiled."""
    return CompiledRules(load_directory(EXAMPLE_RULES))


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read in full."""

    status: int
    content_type: str
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def twilio_signature(token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's scheme, written from its documentation: HMAC-SHA1 of URL + sorted name/values."""
    message = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_params(sid: str, body: str, sender: str = "+447700900123") -> list[tuple[str, str]]:
    """The fields of a Twilio incoming-message webhook."""
    return [
        ("ToCountry", "GB"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", "+447700900000"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", TWILIO_ACCOUNT),
        ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]


@dataclass
class Stack:
    """A started inbound process with helpers to call it and look in its database."""

    base_url: str
    http: aiohttp.ClientSession
    sessions: async_sessionmaker[AsyncSession]
    running: bootstrap.Running

    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        # encoded=True: send the path exactly as given, as a provider sends the URL it signed.
        url = URL(self.base_url + path, encoded=True)
        async with self.http.request(method, url, data=body, headers=headers) as response:
            return Answer(response.status, response.content_type, await response.text())

    async def post_generic(
        self, payload: dict[str, Any] | bytes, secret: str = GENERIC_SECRET, **headers: str
    ) -> Answer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        sent = {"Content-Type": "application/json", "X-Inbound-Signature": signature}
        sent.update({key.replace("_", "-"): value for key, value in headers.items()})
        return await self.request("POST", "/webhooks/generic", body, sent)

    async def post_twilio(
        self,
        params: Sequence[tuple[str, str]],
        token: str = TWILIO_TOKEN,
        signature: str | None = None,
    ) -> Answer:
        url = self.base_url + "/webhooks/twilio"
        body = urllib.parse.urlencode(params).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature
            if signature is not None
            else twilio_signature(token, url, params),
        }
        return await self.request("POST", "/webhooks/twilio", body, headers)

    async def count(self, model: type[Message] | type[Outcome] | type[ReviewItem]) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def message(self, provider_message_id: str) -> Message | None:
        async with self.sessions() as session:
            found: Message | None = await session.scalar(
                select(Message).where(Message.provider_message_id == provider_message_id)
            )
            return found

    async def outcome_for(self, provider_message_id: str) -> Outcome | None:
        async with self.sessions() as session:
            found: Outcome | None = await session.scalar(
                select(Outcome)
                .join(Message, Message.id == Outcome.message_id)
                .where(Message.provider_message_id == provider_message_id)
            )
            return found

    async def review_for(self, provider_message_id: str) -> ReviewItem | None:
        async with self.sessions() as session:
            found: ReviewItem | None = await session.scalar(
                select(ReviewItem)
                .join(Message, Message.id == ReviewItem.message_id)
                .where(Message.provider_message_id == provider_message_id)
            )
            return found

    async def processed(self, provider_message_id: str) -> Message:
        """Wait until the worker has stored the message."""
        found = await eventually(lambda: self.message(provider_message_id), lambda m: m is not None)
        assert found is not None
        return found


async def start_stack(settings: Settings) -> AsyncIterator[Stack]:
    """Start receiver and worker, yield a Stack, stop everything afterwards."""
    async with (
        bootstrap.running(
            settings, bootstrap.Components(receiver=True, worker=True), say=lambda _: None
        ) as running,
        aiohttp.ClientSession() as http,
    ):
        yield Stack(
            base_url=f"http://127.0.0.1:{running.port}",
            http=http,
            sessions=session_factory(running.engine),
            running=running,
        )


@pytest.fixture
def env(tmp_path: Path, amqp_url: str, namespace: str) -> dict[str, str]:
    """The environment of a fresh local install: SQLite file, local RabbitMQ, example rules."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    return {
        **clean,
        "INBOUND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}",
        "INBOUND_AMQP_URL": amqp_url,
        "INBOUND_AMQP_NAMESPACE": namespace,
        "INBOUND_RULES_DIR": str(EXAMPLE_RULES),
        "INBOUND_GENERIC_SECRET": "cli-test-secret",
        "INBOUND_HOST": "127.0.0.1",
        "INBOUND_PORT": str(free_port()),
    }


running_stack = asynccontextmanager(start_stack)


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """inbound running on this test's database and namespace."""
    async for started in start_stack(settings):
        yield started
