"""Topology and the confirmed publisher against real RabbitMQ."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection

from inbound.broker.connection import BrokerUnreachable, connect, redact
from inbound.broker.publisher import Publisher, PublishFailed
from inbound.broker.topology import RECEIVED, BrokerNames, declare
from inbound.message import InboundMessage
from tests.integration.conftest import Stack
from tests.support.process import silent_listener
from tests.support.waiting import eventually


@pytest.fixture
async def connection(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    opened = await connect(amqp_url)
    yield opened
    await opened.close()


def message(message_id: str = "m-1") -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id=message_id,
        sender="+447700900123",
        recipient="+447700900000",
        text="yes",
        received_at=datetime.now(UTC),
    )


async def test_declaring_twice_is_harmless(
    connection: AbstractRobustConnection, namespace: str
) -> None:
    channel = await connection.channel()
    first = await declare(channel, BrokerNames(namespace), delivery_limit=5)
    second = await declare(channel, BrokerNames(namespace), delivery_limit=5)
    assert first.received.name == second.received.name == f"{namespace}.received"


async def test_published_message_is_persistent_json_on_the_received_queue(
    connection: AbstractRobustConnection, namespace: str
) -> None:
    publisher = await Publisher.open(connection, BrokerNames(namespace), 5, confirm_within=5)
    sent = message()
    await publisher.publish(sent)
    channel = await connection.channel()
    queue = await channel.get_queue(f"{namespace}.received", ensure=False)
    got = await eventually(lambda: queue.get(fail=False), lambda m: m is not None)
    assert got is not None
    assert got.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert got.message_id == "generic:m-1"
    assert InboundMessage.model_validate_json(got.body) == sent
    await got.ack()


async def test_unroutable_publish_fails_instead_of_vanishing(
    connection: AbstractRobustConnection, namespace: str
) -> None:
    publisher = await Publisher.open(connection, BrokerNames(namespace), 5, confirm_within=5)
    channel = await connection.channel()
    queue = await channel.get_queue(f"{namespace}.received", ensure=False)
    await queue.unbind(f"{namespace}", routing_key=RECEIVED)
    with pytest.raises(PublishFailed):
        await publisher.publish(message())


async def test_unreachable_broker_is_one_plain_error() -> None:
    with pytest.raises(BrokerUnreachable, match=r"cannot reach RabbitMQ at amqp://u:\*\*\*@"):
        await connect("amqp://u:pw@127.0.0.1:1/", within=5)


async def test_broker_that_never_answers_is_one_plain_error_and_leaves_no_task() -> None:
    with (
        silent_listener() as port,
        pytest.raises(BrokerUnreachable, match=r"no answer within 1 s"),
    ):
        await connect(f"amqp://u:pw@127.0.0.1:{port}/", within=1)
    # The robust connection's reconnect task must be gone, or the process could never exit.
    await asyncio.sleep(0)
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert not [task for task in others if "connection_factory" in repr(task.get_coro())]


def test_redact_hides_only_the_password() -> None:
    assert redact("amqp://guest:guest@host:5672/vh") == "amqp://guest:***@host:5672/vh"
    assert redact("amqp://host/") == "amqp://host/"


async def test_undecodable_message_is_dead_lettered_into_review_not_dropped(
    stack: Stack, amqp_url: str, namespace: str
) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(namespace)
        await exchange.publish(
            aio_pika.Message(b"not a message", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=RECEIVED,
        )
    # Rejected by the rules worker, dead-lettered, and kept by the dead-letter consumer.
    key = hashlib.sha256(b"not a message").hexdigest()
    stored = await stack.processed(key)
    assert (stored.provider, stored.text) == ("dead-letter", "not a message")
    assert await stack.review_for(key) is not None
