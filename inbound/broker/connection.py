"""The one long-lived RabbitMQ connection a process uses, over one node or several.

`INBOUND_AMQP_URL` may list every node of a cluster, comma-separated. Each connection attempt,
the first and every reconnect, goes to the next URL in turn: a node that refuses or went away
is followed at once by the next one, and only after a whole round fails does the connection
wait its reconnect interval before the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Sequence

import aio_pika
from aio_pika.connection import make_url
from aio_pika.exceptions import AMQPError, InvalidFrameError, ProbableAuthenticationError
from aiormq.abc import ExceptionType
from yarl import URL

from inbound.config import amqp_urls
from inbound.lifecycle import next_attempt
from inbound.logs import get_logger

log = get_logger("broker")

# Seconds between rounds of attempts (every node tried once) while RabbitMQ is unreachable.
RECONNECT_INTERVAL = 2.0
# How often a connection that keeps failing says so in the log (aio-pika also logs each attempt).
STILL_WAITING_EVERY = 30.0
# Closing a connection that never opened, when a stop interrupts the first attempts.
CLOSE_WITHIN = 3.0

# aio-pika's RobustConnection makes every connection attempt, the first and each reconnect,
# through its private `__connect_transport` (aio-pika 9 and 10), which reads `self.url`. Wrapping
# it is the one place where the node can be chosen before each attempt; checked at import so an
# aio-pika that renames it fails loudly here (and in tests/unit) rather than using one node.
_ATTEMPT = "_RobustConnection__connect_transport"
_robust_attempt = getattr(aio_pika.RobustConnection, _ATTEMPT)


class BrokerUnreachable(Exception):
    """RabbitMQ could not be reached (at any of its URLs)."""


class BrokerRefused(BrokerUnreachable):
    """RabbitMQ answered but refused the login or the virtual host: a setting to fix, not a
    server to start."""


def redact(url: str) -> str:
    """The URL, or comma-separated URLs, with every password hidden, for messages and logs."""
    return ",".join(_redact_one(part) for part in amqp_urls(url))


def _redact_one(url: str) -> str:
    try:
        parsed = URL(url)
    except ValueError:
        return "(a URL that does not parse, hidden)"
    return str(parsed.with_password("***")) if parsed.password else url


@contextlib.contextmanager
def _quiet_until_connected() -> Iterator[None]:
    # aiormq and aio-pika log each failed attempt themselves; until the first connection the
    # start-up error (or the "waiting for RabbitMQ" line and `rabbitmq_still_unreachable`)
    # says it once, in a sentence. Reconnects after a loss keep aio-pika's lines.
    loggers = [
        logging.getLogger(name) for name in ("aiormq.connection", "aio_pika.robust_connection")
    ]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)


class NodesConnection(aio_pika.RobustConnection):
    """A robust connection that tries its URLs in turn, at start and on every reconnect.

    It never gives up on its own (aio-pika's `fail_fast` is off): `first_round()` says how the
    first try of every node went, and the caller decides whether to wait or to stop.
    """

    def __init__(self, urls: Sequence[str], *, interval: float = RECONNECT_INTERVAL) -> None:
        if not urls:
            raise ValueError("no RabbitMQ URL given")
        self.nodes = tuple(make_url(url, heartbeat=30) for url in urls)
        self._written = tuple(urls)  # as configured, for messages (redacted)
        super().__init__(
            self.nodes[0],
            client_properties={"product": "inbound"},
            fail_fast=False,
            reconnect_interval=interval,
        )
        self._interval = interval
        self._turn = 0  # attempts made: the next goes to node `turn % len(nodes)`
        self._failures: list[BrokerUnreachable] = []  # of the round under way
        self._first_round: asyncio.Future[tuple[BrokerUnreachable, ...]] = self.loop.create_future()
        self._starting: asyncio.Task[None] | None = None
        self._timeout: float | None = None  # each attempt's, as `begin` was given
        self._waiting_since: float | None = None
        self._said_waiting = 0.0
        self.node: str | None = None  # the node connected to (redacted), None while down
        self.last_failure: BrokerUnreachable | None = None

    def begin(self, timeout: float) -> None:
        """Start connecting in the background; each attempt gets `timeout` seconds."""
        if self._starting is None:
            self._timeout = timeout
            self._starting = asyncio.create_task(self._connect(timeout), name="rabbitmq-connect")

    async def _connect(self, attempt_within: float) -> None:
        with _quiet_until_connected():
            await aio_pika.RobustConnection.connect(self, timeout=attempt_within)

    async def first_round(self) -> tuple[BrokerUnreachable, ...]:
        """Wait until the first attempt succeeded, or every node failed once; return the
        failures of that round (empty when connected)."""
        return await asyncio.shield(self._first_round)

    async def _RobustConnection__connect_transport(self) -> None:
        """One attempt, on the next node in turn."""
        attempt = next_attempt(self._turn, len(self._failures), len(self.nodes), self._interval)
        self._turn += 1
        index = attempt.node
        self.url = self.nodes[index]
        # aio-pika pauses this long after a failed attempt before the next one.
        self.reconnect_interval = attempt.pause_if_failed
        try:
            await _robust_attempt(self)
        except Exception as error:
            self._failed(self._written[index], error, attempt.last_of_round)
            raise
        self._failures.clear()
        self.node = _redact_one(self._written[index])
        # A node lost later is followed by the next one at once.
        self.reconnect_interval = 0.0
        if self._waiting_since is not None:
            waited = time.monotonic() - self._waiting_since
            log.info("rabbitmq_connected", node=self.node, waited_seconds=round(waited, 1))
        else:
            log.info("rabbitmq_connected", node=self.node)
        self._waiting_since = None
        if not self._first_round.done():
            self._first_round.set_result(())

    def _failed(self, url: str, error: BaseException, last_of_round: bool) -> None:
        # The round's last failure (every node tried) ends the first round, or says again
        # (now and then) that RabbitMQ is still unreachable.
        self.node = None
        failure = explain(url, error, self._timeout)
        self.last_failure = failure
        self._failures.append(failure)
        if not last_of_round:
            return
        failures, self._failures = tuple(self._failures), []
        self.last_failure = combined(failures)
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        if not self._first_round.done():
            self._first_round.set_result(failures)
        elif now - self._said_waiting >= STILL_WAITING_EVERY:
            self._said_waiting = now
            log.warning(
                "rabbitmq_still_unreachable",
                reason=str(combined(failures)),
                waiting_seconds=round(now - self._waiting_since),
                retry_every_seconds=self._interval,
            )

    async def close(self, exc: ExceptionType | None = asyncio.CancelledError) -> None:
        """Stop connecting (or close the connection); safe to call more than once."""
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        if not self._first_round.done():
            self._first_round.set_result(())
        await super().close(exc)


async def open_connection(
    url: str, *, within: float = 30.0, first_round_within: float | None = None
) -> NodesConnection:
    """Start connecting to the node(s) in `url` and return after the first round: connected,
    or not yet (every node unreachable; the connection keeps trying in the background and
    `last_failure` says why). A refused login or virtual host raises BrokerRefused.

    Each attempt gets `within` seconds; the first round, `first_round_within` at most (unset:
    as long as it takes), after which the caller goes on while the attempts go on.
    """
    nodes = amqp_urls(url)
    connection = NodesConnection(nodes)
    connection.begin(within)
    # aiormq's own timeout ends each attempt; this is a backstop for one that never ends.
    wait = len(nodes) * (within + 1) + 1
    if first_round_within is not None:
        wait = min(wait, first_round_within)
    try:
        async with asyncio.timeout(wait):
            failures = await connection.first_round()
    except TimeoutError:
        failures = ()
        if connection.last_failure is None:
            connection.last_failure = _unreachable(url, f"no answer within {wait:g} s")
    except asyncio.CancelledError:
        # A stop while starting: the attempts' task swallows cancellation, so it must be
        # closed here or it would keep the process from ever exiting.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WITHIN):
                await connection.close()
        raise
    refused = [failure for failure in failures if isinstance(failure, BrokerRefused)]
    if refused and not connection.connected.is_set():
        # A robust connection left open keeps retrying in a task, so the process could never
        # exit to print the reason.
        await connection.close()
        raise refused[0]
    return connection


async def connect(url: str, *, within: float = 30.0) -> NodesConnection:
    """Connect (to the first node in `url` that answers) with automatic reconnection; raise
    BrokerUnreachable with a plain reason when none can be reached now."""
    connection = await open_connection(url, within=within)
    if connection.connected.is_set():
        return connection
    failure = connection.last_failure or _unreachable(url, "not connected")
    await connection.close()
    raise failure


def waiting_reason(connection: NodesConnection) -> str:
    """Why the connection is not up, in one line."""
    return str(connection.last_failure or "not connected yet")


def combined(failures: Sequence[BrokerUnreachable]) -> BrokerUnreachable:
    """One error for a round of failures (each node's reason, when there are several)."""
    if len(failures) == 1:
        return failures[0]
    return BrokerUnreachable("; ".join(str(failure) for failure in failures))


def explain(url: str, error: BaseException, timeout: float | None = None) -> BrokerUnreachable:
    """The failed attempt on one node as a one-line error, refusals told apart."""
    if isinstance(error, TimeoutError):
        waited = f" within {timeout:g} s" if timeout is not None else ""
        return _unreachable(url, f"no answer{waited}")
    if isinstance(error, ProbableAuthenticationError):
        user = URL(url).user or "guest"
        return BrokerRefused(
            f"RabbitMQ at {_redact_one(url)} refused the login of user {user!r} "
            "(ACCESS_REFUSED): the user name or password in the URL is wrong, or the user may "
            "not connect from this host"
        )
    if isinstance(error, OSError | AMQPError):
        reason = str(error) or type(error).__name__
        return _refused_vhost(url, error) or _unreachable(url, reason)
    return _unreachable(url, type(error).__name__)


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
        f"RabbitMQ at {_redact_one(url)} accepted user {user!r} but refused virtual host "
        f"{vhost!r} (NOT_ALLOWED): it does not exist or the user has no permissions on it; fix "
        f"the URL, or create it: rabbitmqctl add_vhost {vhost} && rabbitmqctl set_permissions "
        f"-p {vhost} {user} '.*' '.*' '.*'"
    )
