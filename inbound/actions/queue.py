"""Handing actions to RabbitMQ: due now (actions queue) or later (a delay queue)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from inbound.broker.publisher import publish_confirmed
from inbound.broker.topology import ACTION_DUE, ActionTopology, BrokerNames, declare_actions


def action_id(body: bytes) -> int | None:
    """The action id in a queued message, or None if the body isn't one of ours."""
    return queued(body)[0]


def queued(body: bytes) -> tuple[int | None, str | None]:
    """The action id in a queued message (None if the body isn't one of ours) and the service
    it is for, when the message says (older ones don't): a worker can tell that the service
    has no place free without reading the action from the database."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(value, dict):
        return None, None
    found, service = value.get("action"), value.get("service")
    if not isinstance(found, int) or isinstance(found, bool):
        return None, None
    return found, service if isinstance(service, str) else None


class ActionQueue:
    """Publishes action ids with publisher confirms, within a time bound."""

    def __init__(
        self, channel: AbstractChannel, names: BrokerNames, topology: ActionTopology, within: float
    ) -> None:
        self._channel = channel
        self._names = names
        self.topology = topology
        self._within = within

    @classmethod
    async def open(
        cls,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        delays: list[float],
        within: float,
    ) -> ActionQueue:
        """Open a confirming channel and declare the actions queue and its delay queues."""
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        topology = await declare_actions(channel, names, delays)
        return cls(channel, names, topology, within)

    async def due(self, ids: Iterable[int], services: Mapping[int, str] | None = None) -> None:
        """Queue actions for an attempt now (confirms awaited together, not one after another),
        each with its service when `services` names it."""
        exchange = await self._channel.get_exchange(self._names.exchange, ensure=False)
        known = services or {}
        await asyncio.gather(
            *(self._publish(exchange, action, known.get(action), ACTION_DUE) for action in ids)
        )

    async def later(self, action: int, delay: float, service: str | None = None) -> None:
        """Queue an action for another attempt after `delay` seconds (one of the retry delays)."""
        await self._publish(
            self._channel.default_exchange, action, service, self._names.retry(delay)
        )

    async def _publish(
        self, exchange: aio_pika.abc.AbstractExchange, action: int, service: str | None, key: str
    ) -> None:
        body: dict[str, int | str] = {"action": action}
        if service is not None:
            body["service"] = service
        message = aio_pika.Message(
            json.dumps(body).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await publish_confirmed(exchange, message, key, self._within, "action")

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()
