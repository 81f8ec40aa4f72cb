"""Opening the one long-lived RabbitMQ connection a process uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url
from yarl import URL


class BrokerUnreachable(Exception):
    """RabbitMQ could not be reached at start-up."""


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


@contextlib.contextmanager
def _quiet_first_attempt() -> Iterator[None]:
    # aiormq logs its own error when the first connection fails; BrokerUnreachable already
    # says it once, in a sentence, so the operator sees one line rather than two.
    logger = logging.getLogger("aiormq.connection")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


async def connect(url: str, *, within: float = 30.0) -> AbstractRobustConnection:
    """Connect with automatic reconnection; raise BrokerUnreachable with a plain reason."""
    connection = aio_pika.RobustConnection(
        make_url(url, heartbeat=30, reconnect_interval=2),
        client_properties={"product": "inbound"},
    )
    try:
        with _quiet_first_attempt():
            # aiormq's own timeout ends the attempt inside the reconnect task; the outer one is a
            # backstop for a broker that accepts the socket and then never finishes the handshake.
            async with asyncio.timeout(within + 1):
                await connection.connect(timeout=within)
        return connection
    except TimeoutError:
        reason = f"no answer within {within:g} s"
    except (OSError, aio_pika.exceptions.AMQPError) as error:
        reason = str(error) or type(error).__name__
    # A robust connection left open keeps retrying in a task that swallows cancellation, so
    # the process could never exit to print the reason.
    await connection.close()
    raise BrokerUnreachable(f"cannot reach RabbitMQ at {redact(url)}: {reason}")
