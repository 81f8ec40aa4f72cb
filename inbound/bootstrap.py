"""Starting and stopping the long-running parts (receiver, rules worker) in one process."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import aiohttp
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inbound import runtime
from inbound.actions.action_worker import ActionWorker
from inbound.actions.backoff import RetryPolicy
from inbound.actions.effects import EffectPolicy
from inbound.actions.outbox import SWEEP_INTERVAL, Outbox
from inbound.actions.queue import ActionQueue
from inbound.actions.sender import LogSender, NotifyKeyInvalid, NotifySender, OutboundSender
from inbound.broker.connection import connect
from inbound.broker.publisher import Publisher
from inbound.broker.topology import BrokerNames
from inbound.config import Settings
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.periodic import Periodic
from inbound.providers.registry import (
    UnverifiedNotAllowed,
    check_unverified,
    enabled_providers,
    specs,
)
from inbound.receiver.app import Receiver, create_admin_app, create_app
from inbound.receiver.headers import hsts_wanted
from inbound.receiver.ops import Ops
from inbound.receiver.replay import NonceGuard
from inbound.review.desk import Desk
from inbound.review.mount import mount_review
from inbound.review.security_events import SecurityEvents
from inbound.rules.compiled import CompiledRules, RulesInForce
from inbound.rules.load import load_directory
from inbound.rules.watch import RulesWatcher
from inbound.spool.publish_or_spool import PublishOrSpool
from inbound.spool.relay import SpoolRelay
from inbound.store.database import create_engine, session_factory
from inbound.store.migrate import require_current
from inbound.worker.dead_letters import DeadLetterWorker
from inbound.worker.retention import purge_expired
from inbound.worker.rules_worker import RulesWorker

log = get_logger("bootstrap")


class StartupError(Exception):
    """A setting that makes start-up impossible, explained in one line."""


def announce(line: str) -> None:
    """Tell the operator something, straight away even when stdout is a pipe."""
    print(line, flush=True)


@dataclass(frozen=True)
class Components:
    """Which components this process runs."""

    receiver: bool
    worker: bool
    review: bool = False  # the caseworkers' pages and /api/; served with the receiver too
    # `serve --webhooks-only`: the receiver's port answers /webhooks/*, /healthz and /readyz
    # alone (no staff pages, /api, /metrics or /openapi.json in this process).
    webhooks_only: bool = False

    @property
    def serves_staff(self) -> bool:
        """True when this process serves the staff pages and /api (on some port)."""
        return self.review or (self.receiver and not self.webhooks_only)


@dataclass(frozen=True)
class Listening:
    """Where a process's HTTP listeners are (the ports the OS gave, where 0 was asked)."""

    port: int | None  # webhooks and whatever shares their port (a worker's: its metrics port)
    admin_port: int | None = None  # the staff pages' own, with INBOUND_ADMIN_PORT
    metrics_port: int | None = None  # `serve --webhooks-only` with INBOUND_METRICS_PORT


@dataclass(frozen=True)
class Running:
    """A started process: where it listens and its parts, for callers and tests."""

    port: int | None
    worker: RulesWorker | None
    connection: AbstractRobustConnection
    engine: AsyncEngine
    rules: RulesInForce
    listening: Listening

    @property
    def admin_port(self) -> int | None:
        """The staff listener's port, when it has one of its own."""
        return self.listening.admin_port


class Startable(Protocol):
    """A component with a lifecycle: started at start-up, stopped (in reverse) on the way out."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Wiring:
    """What the components of one process share, made once at start-up."""

    settings: Settings
    connection: AbstractRobustConnection
    engine: AsyncEngine
    names: BrokerNames
    metrics: Metrics
    sessions: async_sessionmaker[AsyncSession]
    rules: RulesInForce
    outbox: Outbox
    stack: AsyncExitStack

    @property
    def effect_policy(self) -> EffectPolicy:
        return EffectPolicy(
            reply_cap_per_hour=self.settings.reply_cap_per_hour,
            send_callbacks=self.settings.callbacks,
        )


@asynccontextmanager
async def running(
    settings: Settings, parts: Components, say: Callable[[str], None] = announce
) -> AsyncIterator[Running]:
    """Start the chosen parts; stop them on exit. Start-up problems raise with a plain reason."""
    rules = CompiledRules(load_directory(settings.rules_dir))
    engine = create_engine(settings.database_url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await require_current(engine)
        connection = await connect(settings.amqp_url, within=settings.connect_timeout)
        stack.push_async_callback(connection.close)
        names = BrokerNames(settings.amqp_namespace)
        for service in rules.book.services.values():
            numbers = ", ".join(service.service.numbers)
            say(f"service {service.service.id}: {len(service.rules)} rules, numbers {numbers}")
        # Rule files reload on SIGHUP and on change; every component reads `watcher.current`.
        watcher = RulesWatcher(settings.rules_dir, rules)
        await _start(stack, watcher)
        # One hand-over to the action worker for the rules worker and the review desk alike.
        queue = None
        if parts.worker or parts.serves_staff:
            queue = await ActionQueue.open(
                connection, names, settings.retry_delays, within=settings.publish_timeout
            )
            stack.push_async_callback(queue.close)
        sessions = session_factory(engine)
        wiring = Wiring(
            settings,
            connection,
            engine,
            names,
            Metrics.create(),
            sessions,
            watcher.current,
            Outbox(sessions, queue),
            stack,
        )
        worker: RulesWorker | None = None
        if parts.worker:
            assert queue is not None
            worker = await _start_workers(wiring, queue)
            say(f"rules worker consuming {names.received}; action worker consuming {names.actions}")
        receiver: Receiver | None = None
        if parts.receiver:
            receiver = await _start_receiver(wiring, say)
        listening = await _serve(wiring, parts, receiver, say)
        yield Running(listening.port, worker, connection, engine, watcher.current, listening)


async def _start(stack: AsyncExitStack, component: Startable) -> None:
    await component.start()
    stack.push_async_callback(component.stop)


async def _start_workers(wiring: Wiring, queue: ActionQueue) -> RulesWorker:
    settings, stack = wiring.settings, wiring.stack
    http = await stack.enter_async_context(aiohttp.ClientSession())
    actions = ActionWorker(
        wiring.connection,
        wiring.names,
        wiring.sessions,
        queue,
        http=http,
        sender=_sender(settings, http),
        # Callback secrets live in the environment, named by each rule file's secret_env.
        secret_for=os.environ.get,
        policy=RetryPolicy(
            settings.retry_delays,
            settings.callback_max_attempts,
            timedelta(seconds=settings.callback_max_age),
        ),
        callback_timeout=settings.callback_timeout,
        metrics=wiring.metrics,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await _start(stack, actions)
    worker = RulesWorker(
        wiring.connection,
        wiring.names,
        wiring.sessions,
        wiring.rules,
        wiring.outbox,
        prefetch=settings.prefetch,
        delivery_limit=settings.delivery_limit,
        # One batch at a time on both databases: SQLite has one writer, and on PostgreSQL a
        # second concurrent batch only split the window into smaller batches (measured: more CPU
        # a message and a lower rate; docs/performance.md). Scale out with processes instead.
        concurrency=1,
        multipart_timeout=settings.multipart_timeout,
        policy=wiring.effect_policy,
        metrics=wiring.metrics,
        shutdown_timeout=settings.shutdown_timeout,
        fault=settings.test_fault,
    )
    await _start(stack, worker)
    dead = DeadLetterWorker(
        wiring.connection,
        wiring.names,
        wiring.sessions,
        wiring.rules,
        policy=wiring.effect_policy,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await _start(stack, dead)
    sessions, rules = wiring.sessions, wiring.rules
    # Actions committed but never handed over (a stop between commit and publish).
    await _start(stack, Periodic("action_sweep", SWEEP_INTERVAL, wiring.outbox.sweep))
    purge = Periodic(
        "purge", settings.purge_interval, lambda: purge_expired(sessions, rules()), at_start=True
    )
    await _start(stack, purge)
    return worker


async def _serve(
    wiring: Wiring, parts: Components, receiver: Receiver | None, say: Callable[[str], None]
) -> Listening:
    """Start the HTTP listeners and say where they listen.

    Every process serves /healthz and /readyz; a worker-only process only when given
    INBOUND_METRICS_PORT, so several can share a machine. The staff pages, /api, /metrics and
    /openapi.json go with the receiver's port, or on INBOUND_ADMIN_PORT; with `--webhooks-only`
    the staff pages nowhere, and /metrics on INBOUND_METRICS_PORT when it is set.
    """
    settings, stack = wiring.settings, wiring.stack
    ops = Ops(wiring.connection, wiring.engine, wiring.metrics, wiring.names)
    staff_here = parts.serves_staff
    staff_apart = staff_here and parts.receiver and settings.admin_port is not None
    worker_only = not parts.receiver and not parts.review
    port = settings.metrics_port if worker_only else settings.port
    if port is None:
        return Listening(None)
    hsts = hsts_wanted(settings)
    # A worker-only process's one port is its metrics port.
    staff_on_main = worker_only or (staff_here and not staff_apart)
    app = create_app(ops, receiver, settings.max_body_bytes, staff=staff_on_main, hsts=hsts)
    if staff_here and not staff_apart:
        mount_review(app, _desk(wiring), settings)
    port = await _serve_http(app, settings.host, port, stack, settings.shutdown_timeout)
    say(f"listening on http://{settings.host}:{port}")
    metrics_port = None
    if parts.webhooks_only and settings.metrics_port is not None:
        # Health and /metrics for the scraper, away from the port providers reach.
        scrape = create_admin_app(ops, None, hsts=hsts)
        metrics_port = await _serve_http(
            scrape, settings.host, settings.metrics_port, stack, settings.shutdown_timeout
        )
        say(f"metrics on http://{settings.host}:{metrics_port}/metrics")
    if not staff_apart:
        return Listening(port, metrics_port=metrics_port)
    assert settings.admin_port is not None
    admin = create_admin_app(ops, receiver, hsts=hsts)
    mount_review(admin, _desk(wiring), settings)
    admin_port = await _serve_http(
        admin, settings.host, settings.admin_port, stack, settings.shutdown_timeout
    )
    say(f"staff pages on http://{settings.host}:{admin_port}/review/")
    return Listening(port, admin_port=admin_port)


def _desk(wiring: Wiring) -> Desk:
    return Desk(
        wiring.sessions,
        wiring.rules,
        wiring.outbox,
        wiring.effect_policy,
        wiring.settings.caseworker_reply_cap_per_hour,
        events=SecurityEvents(wiring.metrics),
    )


def _sender(settings: Settings, http: aiohttp.ClientSession) -> OutboundSender:
    if settings.sender == "log":
        return LogSender()
    if settings.notify_api_key is None or settings.notify_template_id is None:
        raise StartupError(
            "INBOUND_SENDER=notify needs INBOUND_NOTIFY_API_KEY and INBOUND_NOTIFY_TEMPLATE_ID"
        )
    try:
        return NotifySender(
            http,
            settings.notify_base_url,
            settings.notify_api_key.get_secret_value(),
            settings.notify_template_id,
            settings.callback_timeout,
        )
    except NotifyKeyInvalid as error:
        raise StartupError(f"INBOUND_NOTIFY_API_KEY: {error}") from None


async def _start_receiver(wiring: Wiring, say: Callable[[str], None]) -> Receiver:
    settings, connection, names, metrics = (
        wiring.settings,
        wiring.connection,
        wiring.names,
        wiring.metrics,
    )
    rules = wiring.rules
    try:
        providers = enabled_providers(settings)
    except ValueError as error:  # a provider setting that can't be used, e.g. a malformed key
        raise StartupError(str(error)) from None
    for name, spec in specs().items():
        if name not in providers:
            log.info("provider_disabled", provider=name, enable_with=spec.enabled_by)
    try:
        check_unverified(settings)
    except UnverifiedNotAllowed as error:
        raise StartupError(str(error)) from None
    for name in settings.unverified_providers:
        log.warning("provider_unverified", provider=name, risk="anyone can post messages to it")
    publisher = await Publisher.open(
        connection,
        names,
        settings.delivery_limit,
        settings.spool_after,  # then the message goes to the spool instead
        observe=metrics.publish_seconds.observe,
    )
    # The relay has its own channel, so draining the spool never holds up a webhook.
    sessions = wiring.sessions
    relay_publisher = await Publisher.open(
        connection, names, settings.delivery_limit, settings.publish_timeout
    )
    relay = SpoolRelay(relay_publisher, sessions)
    await _start(wiring.stack, relay)

    def spooled() -> None:
        metrics.spooled.inc()
        relay.wake()

    keeper = PublishOrSpool(publisher, sessions, settings.spool_after, on_spooled=spooled)

    def region_for(number: str) -> str | None:
        owner = rules().service_for(number)
        return owner.service.region if owner else None

    enabled = ", ".join(sorted(providers)) or "none (set a provider secret)"
    say(f"webhooks: {enabled}")
    return Receiver(settings, providers, keeper, region_for, metrics, NonceGuard(sessions, metrics))


async def _serve_http(
    app: web.Application, host: str, port: int, stack: AsyncExitStack, shutdown_timeout: float
) -> int:
    # On stop, requests being answered get `shutdown_timeout` to finish; no new ones are taken.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, host, port).start()
    # With port 0 the OS picks one; report the real one.
    bound: int = runner.addresses[0][1]
    return bound


async def run(settings: Settings, parts: Components, say: Callable[[str], None] = announce) -> None:
    """Run the chosen parts until SIGINT or SIGTERM."""
    async with running(settings, parts, say):
        await _wait_for_stop()
        say("stopping")


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        # Started: freeze the heap now. Only once the handlers are in place, as the collection
        # takes a moment and a SIGTERM in it must still stop the process cleanly.
        runtime.settle_heap()
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
