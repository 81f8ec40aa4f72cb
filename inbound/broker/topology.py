"""Exchanges and queues, declared idempotently by every process at start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

# Routing key of a newly accepted message.
RECEIVED = "message.received"

# Routing key of an action (callback or reply) that is due for an attempt.
ACTION_DUE = "action.due"

# Bounds the received queue so a runaway producer can't exhaust the broker's disk; at the bound
# RabbitMQ refuses the publish (x-overflow=reject-publish), so the webhook sees a failure, not loss.
MAX_QUEUE_LENGTH = 5_000_000


@dataclass(frozen=True)
class BrokerNames:
    """Exchange and queue names under one namespace prefix."""

    namespace: str

    @property
    def exchange(self) -> str:
        return self.namespace

    @property
    def dead_exchange(self) -> str:
        return f"{self.namespace}.dead-letter"

    @property
    def received(self) -> str:
        return f"{self.namespace}.received"

    @property
    def dead(self) -> str:
        return f"{self.namespace}.dead"

    @property
    def actions(self) -> str:
        return f"{self.namespace}.actions"

    def retry(self, delay: float) -> str:
        """The delay queue that holds an action for `delay` seconds before its next attempt."""
        return f"{self.namespace}.actions.retry.{round(delay * 1000)}ms"


@dataclass(frozen=True)
class Topology:
    """The declared objects a process publishes to or consumes from."""

    names: BrokerNames
    exchange: AbstractExchange
    received: AbstractQueue
    dead: AbstractQueue


async def declare(channel: AbstractChannel, names: BrokerNames, delivery_limit: int) -> Topology:
    """Declare everything (durable, quorum queues); safe to run again with the same settings."""
    exchange = await channel.declare_exchange(
        names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead_exchange = await channel.declare_exchange(
        names.dead_exchange, aio_pika.ExchangeType.FANOUT, durable=True
    )
    dead = await channel.declare_queue(
        names.dead, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(dead_exchange, routing_key="#")
    # RabbitMQ 3.10 (Debian 12) has no default delivery limit: without one a poison message
    # would be redelivered for ever, so set it and dead-letter explicitly.
    received = await channel.declare_queue(
        names.received,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": names.dead_exchange,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-max-length": MAX_QUEUE_LENGTH,
        },
    )
    await received.bind(exchange, routing_key=RECEIVED)
    return Topology(names=names, exchange=exchange, received=received, dead=dead)


@dataclass(frozen=True)
class ActionTopology:
    """The actions queue and its delay queues, one per retry delay."""

    actions: AbstractQueue
    retries: dict[float, AbstractQueue]


async def declare_actions(
    channel: AbstractChannel, names: BrokerNames, delays: list[float]
) -> ActionTopology:
    """Declare the actions queue and a delay queue per retry delay (each a fixed TTL, so no
    message waits behind a longer one), which dead-letter back to the actions queue."""
    exchange = await channel.declare_exchange(
        names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    actions = await channel.declare_queue(
        names.actions, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await actions.bind(exchange, routing_key=ACTION_DUE)
    retries: dict[float, AbstractQueue] = {}
    for delay in sorted(set(delays)):
        retries[delay] = await channel.declare_queue(
            names.retry(delay),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": round(delay * 1000),
                "x-dead-letter-exchange": names.exchange,
                "x-dead-letter-routing-key": ACTION_DUE,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
    return ActionTopology(actions, retries)


async def delete(
    channel: AbstractChannel, names: BrokerNames, delays: Sequence[float] = ()
) -> None:
    """Remove every queue and exchange of a namespace (tests, `inbound purge --all`)."""
    queues = [names.received, names.dead, names.actions, *(names.retry(d) for d in delays)]
    for queue in queues:
        await channel.queue_delete(queue)
    for exchange in (names.exchange, names.dead_exchange):
        await channel.exchange_delete(exchange)
