"""Acknowledging a delivery, bounded in time, where a lost channel means "will be redelivered"."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from inbound.logs import get_logger

log = get_logger("broker")

# Bounds an ack on a channel that is being re-opened after a connection loss.
SETTLE_TIMEOUT = 5.0


async def settle(incoming: AbstractIncomingMessage, *, ack: bool, requeue: bool = False) -> None:
    """Ack, or nack with or without requeue; a failure only logs, since RabbitMQ redelivers
    whatever a closed channel left unacknowledged (and processing is idempotent)."""
    try:
        async with asyncio.timeout(SETTLE_TIMEOUT):
            if ack:
                await incoming.ack()
            else:
                await incoming.nack(requeue=requeue)
    except (TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError) as error:
        log.warning("settle_failed_will_redeliver", error=type(error).__name__)
