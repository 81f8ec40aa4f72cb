"""Opening the one long-lived RabbitMQ connection a process uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url
from aio_pika.exceptions import AMQPError, InvalidFrameError, ProbableAuthenticationError
from yarl import URL


class BrokerUnreachable(Exception):
    """RabbitMQ could not be reached at start-up."""


class BrokerRefused(BrokerUnreachable):
    """RabbitMQ answered but refused the login or the virtual host: a setting to fix, not a
    server to start."""


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
        failure: BrokerUnreachable = _unreachable(url, f"no answer within {within:g} s")
    except ProbableAuthenticationError:
        user = URL(url).user or "guest"
        failure = BrokerRefused(
            f"RabbitMQ at {redact(url)} refused the login of user {user!r} (ACCESS_REFUSED): "
            "the user name or password in the URL is wrong, or the user may not connect from "
            "this host"
        )
    except (OSError, AMQPError) as error:
        reason = str(error) or type(error).__name__
        failure = _refused_vhost(url, error) or _unreachable(url, reason)
    # A robust connection left open keeps retrying in a task that swallows cancellation, so
    # the process could never exit to print the reason.
    await connection.close()
    raise failure


def _unreachable(url: str, reason: str) -> BrokerUnreachable:
    return BrokerUnreachable(f"cannot reach RabbitMQ at {redact(url)}: {reason}")


def _refused_vhost(url: str, error: BaseException) -> BrokerRefused | None:
    # After a good login RabbitMQ answers Connection.Open for a vhost that doesn't exist, or one
    # the user has no permissions on, with Connection.Close (NOT_ALLOWED). aiormq reports that
    # only as an unexpected frame, dropping RabbitMQ's reply text, so recognise it by that.
    said = str(error)
    if not (isinstance(error, InvalidFrameError) and "OpenOk" in said and "Close" in said):
        return None
    parsed = URL(url)
    vhost = parsed.path[1:].replace("%2F", "/") or "/"  # as aiormq reads it
    user = parsed.user or "guest"
    return BrokerRefused(
        f"RabbitMQ at {redact(url)} accepted user {user!r} but refused virtual host {vhost!r} "
        "(NOT_ALLOWED): it does not exist or the user has no permissions on it; fix the URL, or "
        f"create it: rabbitmqctl add_vhost {vhost} && rabbitmqctl set_permissions -p {vhost} "
        f"{user} '.*' '.*' '.*'"
    )
