"""Publishing accepted messages with a publisher confirm, within a time bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from pamqp.commands import Basic

from inbound.broker.topology import RECEIVED, BrokerNames, Topology, declare
from inbound.message import InboundMessage


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
        # The current AMQP channel under the robust one; replaced after a reconnect.
        self._underlay: aiormq.abc.AbstractChannel | None = None

    @classmethod
    async def open(
        cls,
        connection: AbstractRobustConnection,
        names: BrokerNames,
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

    async def publish(self, message: InboundMessage, within: float | None = None) -> None:
        """Return once RabbitMQ confirmed the message, else raise PublishFailed.

        `within`: seconds to wait for the confirm, when shorter than the publisher's own bound
        (a provider that waits less for its answer than most).
        """
        timeout = self._timeout if within is None else min(within, self._timeout)
        body = message.to_json()
        # The properties aio_pika.Message would send, byte for byte (empty headers and priority
        # 0 included), built directly: an aio_pika.Message took ~8 µs a webhook to build.
        properties = Basic.Properties(
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.key,
            headers={},
            priority=0,
        )
        started = time.perf_counter()
        try:
            await self._publish(body, properties, bound=timeout)
        except TimeoutError:
            raise PublishFailed(f"no confirm from RabbitMQ within {timeout:g} s") from None
        except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as error:
            # Nack, returned (unroutable) message, closed channel: none of them is durable.
            raise PublishFailed(f"RabbitMQ refused the message: {type(error).__name__}") from error
        if self._observe is not None:
            self._observe(time.perf_counter() - started)

    async def _publish(self, body: bytes, properties: Basic.Properties, *, bound: float) -> None:
        # What Exchange.publish does for us, less its per-call overhead: refuse a closed
        # channel, wait for a robust channel to be restored, then publish mandatory and wait for
        # the confirm (aiormq raises on a nack and, with on_return_raises, on a return).
        if self._channel.is_closed:
            raise aiormq.exceptions.ChannelInvalidStateError(f"{self._channel!r} closed")
        channel, waited = self._underlay, 0.0
        if channel is None or channel.is_closed:
            # Only after a reconnect: a restoring robust channel can make this wait, so bound it.
            started = time.monotonic()
            async with asyncio.timeout(bound):
                channel = self._underlay = await self._channel.get_underlay_channel()
            waited = time.monotonic() - started
        # aiormq bounds the write and the confirm with this timeout itself (TimeoutError), so
        # the usual path schedules one timer a message, not two.
        await channel.basic_publish(
            body,
            exchange=self._topology.exchange.name,
            routing_key=RECEIVED,
            properties=properties,
            mandatory=True,
            timeout=max(bound - waited, 0.001),
        )

    async def close(self) -> None:
        """Close the publishing channel."""
        await self._channel.close()
