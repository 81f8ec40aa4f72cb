"""Publishing accepted messages with a publisher confirm, within a time bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from inbound.broker.topology import Names, Topology, declare
from inbound.message import RECEIVED, InboundMessage


class PublishFailed(Exception):
    """RabbitMQ did not confirm the message: it may not be durable."""


async def publish_confirmed(
    exchange: AbstractExchange,
    message: aio_pika.Message,
    routing_key: str,
    within: float,
    what: str,
) -> None:
    """Publish (mandatory) and wait for the confirm; PublishFailed unless RabbitMQ took it."""
    try:
        # A robust connection that is reconnecting can make publish hang: bound it.
        async with asyncio.timeout(within):
            await exchange.publish(message, routing_key=routing_key, mandatory=True)
    except TimeoutError:
        raise PublishFailed(f"no confirm from RabbitMQ within {within:g} s") from None
    except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as error:
        # Nack, returned (unroutable) message, closed channel: none of them is durable.
        raise PublishFailed(f"RabbitMQ refused the {what}: {type(error).__name__}") from error


class Publisher:
    """Publishes InboundMessages persistently and waits for RabbitMQ's confirm."""

    def __init__(
        self,
        channel: AbstractChannel,
        topology: Topology,
        timeout: float,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        self._channel = channel
        self._topology = topology
        self._timeout = timeout
        self._observe = observe

    @classmethod
    async def open(
        cls,
        connection: AbstractRobustConnection,
        names: Names,
        delivery_limit: int,
        confirm_within: float,
        observe: Callable[[float], None] | None = None,
    ) -> Publisher:
        """Open a confirming channel (returned messages raise) and declare the topology.

        `observe` is told how long each confirmed publish took, in seconds.
        """
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        topology = await declare(channel, names, delivery_limit)
        return cls(channel, topology, confirm_within, observe)

    async def publish(self, message: InboundMessage) -> None:
        """Return once RabbitMQ confirmed the message, else raise PublishFailed."""
        amqp_message = aio_pika.Message(
            message.model_dump_json().encode("utf-8"),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.key,
        )
        started = time.perf_counter()
        await publish_confirmed(
            self._topology.exchange, amqp_message, RECEIVED, self._timeout, "message"
        )
        if self._observe is not None:
            self._observe(time.perf_counter() - started)

    async def close(self) -> None:
        """Close the publishing channel."""
        await self._channel.close()
