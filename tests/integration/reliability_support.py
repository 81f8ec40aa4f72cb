"""What the reliability tests share: proxies in front of the real servers, a PostgreSQL
database of one's own, direct publishing, and counting what ended where."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aio_pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.broker.publisher import Publisher
from inbound.broker.topology import BrokerNames
from inbound.config import Settings
from inbound.message import InboundMessage
from inbound.store.models import Message, Outcome, ReviewItem, SpoolEntry
from tests.conftest import (
    _admin,
    _with_database,
    settings_for,
)
from tests.support.tcp_proxy import TcpProxy

# The number the example rules' appointments service owns, and test senders (reserved ranges).
SERVICE_NUMBER = "+447700900000"
SENDER = "+447700900123"


@asynccontextmanager
async def proxied(url: str, default_port: int) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A TcpProxy in front of the server in `url`, and the URL that goes through it."""
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or default_port)
    await proxy.start()
    try:
        yield proxy, parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    finally:
        await proxy.cut()


def amqp_through(amqp_url: str, proxy: TcpProxy) -> str:
    """The AMQP URL with the proxy's address (make_url would not keep the vhost slash)."""
    from yarl import URL

    return str(URL(amqp_url).with_host("127.0.0.1").with_port(proxy.port))


@pytest.fixture
def pg_url(postgres_server_url: str, postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"inbound_r_{uuid.uuid4().hex[:12]}"
    asyncio.run(
        _admin(postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    )
    yield _with_database(postgres_server_url, name)
    asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def message(
    provider_message_id: str, text: str = "yes", sender: str = SENDER, to: str = SERVICE_NUMBER
) -> InboundMessage:
    """An accepted message for the appointments service, as the receiver would publish it."""
    return InboundMessage(
        provider="generic",
        provider_message_id=provider_message_id,
        sender=sender,
        recipient=to,
        text=text,
        received_at=datetime.now(UTC),
    )


@asynccontextmanager
async def publisher(
    amqp_url: str, namespace: str, delivery_limit: int = 5
) -> AsyncIterator[Publisher]:
    """A confirmed publisher on the namespace's topology, as the receiver has."""
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        yield await Publisher.open(connection, BrokerNames(namespace), delivery_limit, 10.0)
    finally:
        await connection.close()


async def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in a queue (a passive declare; unacknowledged ones are not counted)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows per table that says where messages ended.

    `reviews` counts messages that ended in review instead of an outcome; a review item raised
    later for an outcome whose callback gave up (the example rules' callback host does not
    exist) is a side effect's fate, counted apart as `action_reviews`.
    """
    found = {}
    async with sessions() as session:
        for name, model in (
            ("messages", Message),
            ("outcomes", Outcome),
            ("spool", SpoolEntry),
        ):
            found[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
        decided = select(Outcome.message_id).scalar_subquery()
        for name, condition in (
            ("reviews", ReviewItem.message_id.not_in(decided)),
            ("action_reviews", ReviewItem.message_id.in_(decided)),
        ):
            query = select(func.count()).select_from(ReviewItem).where(condition)
            found[name] = int(await session.scalar(query) or 0)
    return found


async def stored_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Every stored message's provider id, duplicates included (there must be none)."""
    async with sessions() as session:
        return list((await session.scalars(select(Message.provider_message_id))).all())


@pytest.fixture
def pg_settings(pg_url: str, amqp_url: str, namespace: str) -> Settings:
    """The test settings on PostgreSQL only (where concurrency and row locks are real)."""
    return settings_for(pg_url, amqp_url, namespace, spool_after=1.0)
