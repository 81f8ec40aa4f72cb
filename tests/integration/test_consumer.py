"""The one consumer lifecycle against a real RabbitMQ: each outcome of a handler is settled as
it says, a handler's own failure hands the delivery back, and stop lets what is in flight end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from inbound.broker.connection import connect
from inbound.broker.consumer import Consumer, Settle
from tests.support.waiting import eventually

Connection = aio_pika.abc.AbstractRobustConnection


@pytest.fixture
async def connection(amqp_url: str) -> AsyncIterator[Connection]:
    opened = await connect(amqp_url, within=10)
    yield opened
    await opened.close()


def declarer(name: str) -> object:
    async def declare(channel: AbstractChannel) -> AbstractQueue:
        return await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})

    return declare


async def publish(connection: Connection, queue: str, *bodies: bytes) -> None:
    channel = await connection.channel()
    for body in bodies:
        await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)
    await channel.close()


async def depth(connection: Connection, queue: str) -> int:
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await channel.close()


async def test_a_failing_handler_gets_the_delivery_again(
    connection: Connection, namespace: str
) -> None:
    queue = f"{namespace}.consumer"
    seen: list[bytes] = []
    done = asyncio.Event()

    async def handle(incoming: AbstractIncomingMessage) -> Settle:
        seen.append(incoming.body)
        if len(seen) == 1:
            raise RuntimeError("a bug in the handler")  # not the message's fault: retried
        done.set()
        return Settle.ACK

    consumer = Consumer(
        connection,
        declarer(queue),
        handle,
        name="test",
        prefetch=4,
        shutdown_timeout=5,
        retry_pause=0.01,
    )
    await consumer.start()
    await publish(connection, queue, b"one")
    async with asyncio.timeout(10):
        await done.wait()
    await consumer.stop()
    assert seen == [b"one", b"one"]
    assert await depth(connection, queue) == 0


@pytest.mark.parametrize(
    ("outcome", "left"),
    [(Settle.ACK, 0), (Settle.DEAD_LETTER, 0), (Settle.LEAVE, 1)],
)
async def test_each_outcome_is_settled_as_it_says(
    connection: Connection, namespace: str, outcome: Settle, left: int
) -> None:
    queue = f"{namespace}.{outcome.value}"
    handled = asyncio.Event()

    async def handle(_: AbstractIncomingMessage) -> Settle:
        handled.set()
        return outcome

    consumer = Consumer(
        connection, declarer(queue), handle, name="test", prefetch=4, shutdown_timeout=5
    )
    await consumer.start()
    await publish(connection, queue, b"x")
    async with asyncio.timeout(10):
        await handled.wait()
    await consumer.stop()  # a delivery left unacknowledged goes back when the channel closes
    await eventually(lambda: depth(connection, queue), lambda n: n == left)


async def test_stop_waits_for_a_delivery_in_flight(connection: Connection, namespace: str) -> None:
    queue = f"{namespace}.inflight"
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def handle(_: AbstractIncomingMessage) -> Settle:
        started.set()
        await release.wait()
        finished.append("done")
        return Settle.ACK

    consumer = Consumer(
        connection, declarer(queue), handle, name="test", prefetch=4, shutdown_timeout=5
    )
    await consumer.start()
    await publish(connection, queue, b"x")
    await started.wait()
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waiting for the handler, not closing under it
    assert consumer.stopping.is_set()  # so handlers' waits can give up
    release.set()
    await stopping
    assert finished == ["done"]
    assert await depth(connection, queue) == 0
