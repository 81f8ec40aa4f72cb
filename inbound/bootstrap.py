"""Starting and stopping the long-running parts (receiver, rules worker) in one process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import aiohttp
from aio_pika.abc import AbstractRobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inbound import runtime
from inbound.actions.action_worker import ActionWorker
from inbound.actions.backoff import RetryPolicy
from inbound.actions.effects import EffectPolicy
from inbound.actions.notify_account import Defaults, NoNotifyAccount, NotifyAccount, account
from inbound.actions.outbox import SWEEP_INTERVAL, Outbox
from inbound.actions.queue import ActionQueue
from inbound.actions.sender import (
    LogSender,
    NotifyKeyInvalid,
    NotifySender,
    OutboundSender,
    notify_token,
)
from inbound.backfill.poll import open_poller, poll_tick
from inbound.broker.connection import (
    RECONNECT_INTERVAL,
    NodesConnection,
    open_connection,
    waiting_reason,
)
from inbound.broker.publisher import Publisher
from inbound.broker.topology import BrokerNames
from inbound.config import Settings
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.periodic import Periodic
from inbound.providers.notify import Notify
from inbound.providers.registry import (
    UnverifiedNotAllowed,
    check_unverified,
    enabled_providers,
    specs,
)
from inbound.receiver.app import Receiver, create_admin_app, create_app
from inbound.receiver.headers import hsts_wanted
from inbound.receiver.notify_status import Receipts, provider_token_check
from inbound.receiver.ops import Ops
from inbound.receiver.replay import NonceGuard
from inbound.receiver.service_secrets import RuleFileSecrets
from inbound.review.coverage import warning as no_caseworker
from inbound.review.coverage_check import warn_without_caseworker
from inbound.review.desk import Desk
from inbound.review.mount import mount_review
from inbound.review.security_events import SecurityEvents
from inbound.rules.compiled import CompiledRules, RulesInForce
from inbound.rules.managed import load_rule_book
from inbound.rules.watch import RulesWatcher
from inbound.spool.publish_or_spool import PublishOrSpool, budget, spool_write_bound
from inbound.spool.relay import SpoolRelay
from inbound.stopping import BACKSTOP, StopBudget, backstop, exit_now, leftovers
from inbound.store.database import create_engine, session_factory
from inbound.store.migrate import require_current
from inbound.store.rule_versions import StoredVersions
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
    budget: StopBudget  # the stop's: what it abandoned

    @property
    def admin_port(self) -> int | None:
        """The staff listener's port, when it has one of its own."""
        return self.listening.admin_port


class Startable(Protocol):
    """A component with a lifecycle: started at start-up, stopped (in reverse) on the way out."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class LateOutbox(Outbox):
    """The outbox of a process that may open its action queue after start-up (RabbitMQ away
    at start): until `attach`, its hand-overs are left to the workers' sweep."""

    def attach(self, queue: ActionQueue) -> None:
        """Hand over to `queue` from now on."""
        self._queue = queue


@dataclass(frozen=True)
class Wiring:
    """What the components of one process share, made once at start-up."""

    settings: Settings
    connection: NodesConnection
    engine: AsyncEngine
    names: BrokerNames
    metrics: Metrics
    sessions: async_sessionmaker[AsyncSession]
    rules: RulesInForce
    outbox: LateOutbox
    stack: AsyncExitStack
    budget: StopBudget

    @property
    def effect_policy(self) -> EffectPolicy:
        return EffectPolicy(
            reply_cap_per_hour=self.settings.reply_cap_per_hour,
            send_callbacks=self.settings.callbacks,
        )

    def on_stop(self, name: str, step: Callable[[], Awaitable[object]], *, close: bool) -> None:
        """Run `step` when the process stops (in reverse order of start), within the budget:
        what is left of INBOUND_SHUTDOWN_TIMEOUT, and for a `close` at most a few seconds."""
        self.stack.push_async_callback(self.budget.bounded(name, step, close=close))


@dataclass(frozen=True)
class Receiving:
    """The receiver, its way to make a webhook durable and the relay draining the spool; the
    last two publish only once `_connect_receiver` gave them their RabbitMQ channels (until
    then every webhook is spooled)."""

    receiver: Receiver
    keeper: PublishOrSpool
    relay: SpoolRelay


# The callbacks' HTTP client and the sender of auto-replies, made at start for the workers.
Sender = tuple[aiohttp.ClientSession, OutboundSender]

# The longest start-up waits for the first try of every RabbitMQ node before it goes on
# without RabbitMQ (each try is bounded by INBOUND_CONNECT_TIMEOUT, which may be longer).
FIRST_ROUND_WAIT = 10.0


@asynccontextmanager
async def running(
    settings: Settings, parts: Components, say: Callable[[str], None] = announce
) -> AsyncIterator[Running]:
    """Start the chosen parts; stop them on exit. Start-up problems raise with a plain reason.

    RabbitMQ may be unreachable at start: what needs it (the receiver's publishers and the
    relay's, the action queue, the consumers) starts once it answers, while the rest runs: the
    receiver spools webhooks to the database, workers wait. A refused login or virtual host
    still stops start-up (BrokerRefused): that is a setting to fix.
    """
    engine = create_engine(settings.database_url)
    budget = StopBudget(settings.shutdown_timeout)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(budget.bounded("database", engine.dispose, close=True))
        await require_current(engine)
        sessions = session_factory(engine)
        # The rule files plus the published versions of services managed in inbound.
        versions = StoredVersions(sessions)
        stamp = await versions.stamp()
        rules = CompiledRules(load_rule_book(settings.rules_dir, await versions.in_force()))
        connection = await open_connection(
            settings.amqp_url,
            within=settings.connect_timeout,
            first_round_within=min(settings.connect_timeout, FIRST_ROUND_WAIT),
        )
        stack.push_async_callback(budget.bounded("rabbitmq", connection.close, close=True))
        names = BrokerNames(settings.amqp_namespace)
        for service in rules.book.services.values():
            numbers = ", ".join(service.service.numbers)
            say(f"service {service.service.id}: {len(service.rules)} rules, numbers {numbers}")
        for service_id in await warn_without_caseworker(sessions, rules.book.services, "start"):
            say(f"warning: {no_caseworker(service_id)}")
        # Rule files reload on SIGHUP and on change, and on a published version; every
        # component reads `watcher.current`.
        watcher = RulesWatcher(
            settings.rules_dir,
            rules,
            on_reload=lambda book: warn_without_caseworker(sessions, book.services, "reload"),
            versions=versions,
            stamp=stamp,
        )
        wiring = Wiring(
            settings,
            connection,
            engine,
            names,
            Metrics.create(),
            sessions,
            watcher.current,
            # One hand-over to the action worker for the rules worker and the review desk
            # alike; its queue is attached once RabbitMQ answers.
            LateOutbox(sessions, None),
            stack,
            budget,
        )
        await _start(wiring, "rules_watcher", watcher)
        sender: Sender | None = None
        if parts.worker:
            # Made before RabbitMQ is needed, so a bad sender setting stops start-up now.
            http = aiohttp.ClientSession()
            wiring.on_stop("http_client", http.close, close=True)
            sender = (http, _sender(settings, http, wiring.rules))
        connected = connection.connected.is_set()
        worker: RulesWorker | None = None
        if connected:
            worker = await _start_with_broker(wiring, parts, sender, None, say)
        receiving = await _start_receiver(wiring, say) if parts.receiver else None
        if connected and receiving is not None:
            await _connect_receiver(wiring, receiving)
        if not connected:
            reason = waiting_reason(connection)
            meanwhile = "; webhooks are spooled to the database meanwhile" if receiving else ""
            say(f"waiting for RabbitMQ ({reason}){meanwhile}")
            log.warning("rabbitmq_waiting", reason=reason, spooling=receiving is not None)
        receiver = receiving.receiver if receiving is not None else None
        listening = await _serve(wiring, parts, receiver, say)
        if not connected:
            later = _WhenConnected(
                wiring, lambda late: _start_with_broker(late, parts, sender, receiving, say)
            )
            await later.start()
            # First to stop: it may be starting those parts right now.
            wiring.on_stop("parts_needing_rabbitmq", later.stop, close=False)
        # The stop's budget counts from the first step (this one, last pushed).
        stack.push_async_callback(_begin(budget))
        yield Running(
            listening.port, worker, connection, engine, watcher.current, listening, budget
        )


def _begin(budget: StopBudget) -> Callable[[], Awaitable[None]]:
    async def begin() -> None:
        budget.begin()

    return begin


async def _start(wiring: Wiring, name: str, component: Startable) -> None:
    await component.start()
    wiring.on_stop(name, component.stop, close=False)


async def _start_with_broker(
    wiring: Wiring,
    parts: Components,
    sender: Sender | None,
    receiving: Receiving | None,
    say: Callable[[str], None],
) -> RulesWorker | None:
    """Start what needs RabbitMQ: the action queue, the receiver's publishers, the workers."""
    settings, names = wiring.settings, wiring.names
    queue = None
    if parts.worker or parts.serves_staff:
        queue = await ActionQueue.open(
            wiring.connection, names, settings.retry_delays, within=settings.publish_timeout
        )
        wiring.on_stop("action_queue", queue.close, close=True)
        wiring.outbox.attach(queue)
    if receiving is not None:
        await _connect_receiver(wiring, receiving)
    if not parts.worker:
        return None
    assert queue is not None
    assert sender is not None
    worker = await _start_workers(wiring, queue, sender)
    say(f"rules worker consuming {names.received}; action worker consuming {names.actions}")
    return worker


class _WhenConnected:
    """Starts the parts that need RabbitMQ once it answers, in the background; owns them.

    A start that fails half-way (the connection dropped again) stops what it started and
    tries again at the next connection.
    """

    def __init__(self, wiring: Wiring, start: Callable[[Wiring], Awaitable[object]]) -> None:
        self._wiring = wiring
        self._start = start
        self._stack = AsyncExitStack()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="start-with-rabbitmq")

    async def _run(self) -> None:
        connection = self._wiring.connection
        while True:
            await connection.connected.wait()
            try:
                await self._start(dataclasses.replace(self._wiring, stack=self._stack))
            except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
                log.warning("rabbitmq_start_failed_will_retry", error=type(error).__name__)
                await self._stack.aclose()
                self._stack = AsyncExitStack()
                await asyncio.sleep(RECONNECT_INTERVAL)
                continue
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stack.aclose()


async def _start_workers(wiring: Wiring, queue: ActionQueue, sender: Sender) -> RulesWorker:
    settings = wiring.settings
    http, outbound = sender
    actions = ActionWorker(
        wiring.connection,
        wiring.names,
        wiring.sessions,
        queue,
        http=http,
        sender=outbound,
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
    await _start(wiring, "action_worker", actions)
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
    await _start(wiring, "rules_worker", worker)
    dead = DeadLetterWorker(
        wiring.connection,
        wiring.names,
        wiring.sessions,
        wiring.rules,
        policy=wiring.effect_policy,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await _start(wiring, "dead_letter_worker", dead)
    sessions, rules = wiring.sessions, wiring.rules
    # Actions committed but never handed over (a stop between commit and publish).
    sweep = Periodic("action_sweep", SWEEP_INTERVAL, wiring.outbox.sweep)
    await _start(wiring, "action_sweep", sweep)
    purge = Periodic(
        "purge", settings.purge_interval, lambda: purge_expired(sessions, rules()), at_start=True
    )
    await _start(wiring, "purge", purge)
    if settings.notify_poll_every > 0:
        # Received texts Notify kept that no callback brought (docs/notify.md); the lease in
        # notify_polls lets one process poll a service at a time.
        poller = await open_poller(wiring.connection, wiring.names, sessions, rules, http, settings)
        tick = poll_tick(settings.notify_poll_every)
        await _start(
            wiring, "notify_poll", Periodic("notify_poll", tick, poller.step, at_start=True)
        )
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
    settings = wiring.settings
    # `serve` is ready when either RabbitMQ or the database answers (either makes a webhook
    # durable); a process with workers (`worker`, `run`) or the staff pages needs both.
    ops = Ops(
        wiring.connection,
        wiring.engine,
        wiring.metrics,
        wiring.names,
        either_will_do=parts.receiver and not parts.worker,
    )
    staff_here = parts.serves_staff
    staff_apart = staff_here and parts.receiver and settings.admin_port is not None
    worker_only = not parts.receiver and not parts.review
    port = settings.metrics_port if worker_only else settings.port
    if port is None:
        return Listening(None)
    hsts = hsts_wanted(settings)
    # A worker-only process's one port is its metrics port.
    staff_on_main = worker_only or (staff_here and not staff_apart)
    app = create_app(
        ops,
        receiver,
        settings.max_body_bytes,
        staff=staff_on_main,
        hsts=hsts,
        receipts=_receipts(wiring, receiver),
    )
    if staff_here and not staff_apart:
        mount_review(app, _desk(wiring), settings)
    port = await _serve_http(wiring, app, port)
    say(f"listening on http://{settings.host}:{port}")
    metrics_port = None
    if parts.webhooks_only and settings.metrics_port is not None:
        # Health and /metrics for the scraper, away from the port providers reach.
        scrape = create_admin_app(ops, None, hsts=hsts)
        metrics_port = await _serve_http(wiring, scrape, settings.metrics_port)
        say(f"metrics on http://{settings.host}:{metrics_port}/metrics")
    if not staff_apart:
        return Listening(port, metrics_port=metrics_port)
    assert settings.admin_port is not None
    admin = create_admin_app(ops, receiver, hsts=hsts)
    mount_review(admin, _desk(wiring), settings)
    admin_port = await _serve_http(wiring, admin, settings.admin_port)
    say(f"staff pages on http://{settings.host}:{admin_port}/review/")
    return Listening(port, admin_port=admin_port)


def _receipts(wiring: Wiring, receiver: Receiver | None) -> Receipts | None:
    """Notify's delivery receipts are taken where its received texts are: with the Notify
    provider, whose bearer tokens they carry (docs/notify.md)."""
    notify = receiver.providers.get("notify") if receiver is not None else None
    if not isinstance(notify, Notify):
        return None
    return Receipts(
        wiring.sessions,
        wiring.rules,
        wiring.metrics,
        provider_token_check(notify),
        wiring.settings.max_body_bytes,
    )


def _desk(wiring: Wiring) -> Desk:
    return Desk(
        wiring.sessions,
        wiring.rules,
        wiring.outbox,
        wiring.effect_policy,
        wiring.settings.caseworker_reply_cap_per_hour,
        events=SecurityEvents(wiring.metrics),
        claim_release_after=timedelta(minutes=wiring.settings.claim_release_after),
    )


def _sender(settings: Settings, http: aiohttp.ClientSession, rules: RulesInForce) -> OutboundSender:
    if settings.sender == "log":
        return LogSender()
    key = settings.notify_api_key.get_secret_value() if settings.notify_api_key else None
    if key is not None:
        try:
            notify_token(key)
        except NotifyKeyInvalid as error:
            raise StartupError(f"INBOUND_NOTIFY_API_KEY: {error}") from None
    defaults = Defaults(key, settings.notify_template_id)
    services = rules().book.services.values()
    notify_blocks = [s.service.notify for s in services if s.service.notify is not None]
    if key is None and not any(block.api_key_env for block in notify_blocks):
        raise StartupError(
            "INBOUND_SENDER=notify needs INBOUND_NOTIFY_API_KEY (or a service's own key, "
            "service.notify.api_key_env in its rule file)"
        )
    if defaults.template_id is None and not any(block.template_id for block in notify_blocks):
        raise StartupError(
            "INBOUND_SENDER=notify needs INBOUND_NOTIFY_TEMPLATE_ID (or a service's own, "
            "service.notify.template_id in its rule file)"
        )

    def account_of(service_id: str) -> NotifyAccount:
        # Read at each send, as callback secrets are: a reloaded rule file is in force at once.
        found = rules().service(service_id)
        return account(found.service.notify if found else None, defaults, os.environ.get)

    for service in services:
        try:
            account_of(service.service.id)
        except NoNotifyAccount as why:
            # Its replies will fail (final, in words on the undelivered page) until it is set.
            log.warning("notify_account_missing", service=service.service.id, why=str(why))
    return NotifySender(http, settings.notify_base_url, account_of, settings.callback_timeout)


async def _start_receiver(wiring: Wiring, say: Callable[[str], None]) -> Receiving:
    """Make the receiver; it spools every webhook until `_connect_receiver`."""
    settings, metrics = wiring.settings, wiring.metrics
    rules = wiring.rules
    try:
        # Some providers take a service's own secret too (Notify's callback token).
        providers = enabled_providers(settings, RuleFileSecrets(rules))
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
    metrics.start_at_zero(providers)
    sessions = wiring.sessions

    def spooled() -> None:
        metrics.spooled.inc()
        relay.wake()

    # A provider that waits less than ANSWER_WITHIN for its answer says how long (Notify: 5 s).
    budgets = {}
    for name, provider in providers.items():
        answer_within: float | None = getattr(provider, "answer_within", None)
        if answer_within is not None:
            budgets[name] = budget(answer_within, settings.spool_after)
    keeper = PublishOrSpool(
        None,
        sessions,
        spool_write_bound(settings.spool_after),
        on_spooled=spooled,
        budgets=budgets,
    )
    # RabbitMQ confirming the relay's publishes ends the webhooks' detour through the spool at
    # once, rather than after the breaker's cool-off (on SQLite those writes compete with the
    # workers catching up).
    relay = SpoolRelay(None, sessions, on_confirmed=keeper.broker_confirmed)
    await _start(wiring, "spool_relay", relay)

    def region_for(number: str) -> str | None:
        owner = rules().service_for(number)
        return owner.service.region if owner else None

    enabled = ", ".join(sorted(providers)) or "none (set a provider secret)"
    say(f"webhooks: {enabled}")
    receiver = Receiver(
        settings, providers, keeper, region_for, metrics, NonceGuard(sessions, metrics)
    )
    return Receiving(receiver, keeper, relay)


async def _connect_receiver(wiring: Wiring, receiving: Receiving) -> None:
    """Open the receiver's publishing channel and the relay's, and start publishing."""
    settings, connection, names = wiring.settings, wiring.connection, wiring.names
    publisher = await Publisher.open(
        connection,
        names,
        settings.delivery_limit,
        settings.spool_after,  # then the message goes to the spool instead
        observe=wiring.metrics.publish_seconds.observe,
    )
    # The relay has its own channel, so draining the spool never holds up a webhook.
    relay_publisher = await Publisher.open(
        connection, names, settings.delivery_limit, settings.publish_timeout
    )
    receiving.keeper.attach(publisher)
    receiving.relay.attach(relay_publisher)


async def _serve_http(wiring: Wiring, app: web.Application, port: int) -> int:
    settings = wiring.settings
    # On stop, requests being answered get what is left of the shutdown timeout to finish; no
    # new ones are taken.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.shutdown_timeout)
    await runner.setup()
    wiring.on_stop("http_server", runner.cleanup, close=False)
    await web.TCPSite(runner, settings.host, port).start()
    # With port 0 the OS picks one; report the real one.
    bound: int = runner.addresses[0][1]
    return bound


async def run(settings: Settings, parts: Components, say: Callable[[str], None] = announce) -> None:
    """Run the chosen parts until SIGINT or SIGTERM, then stop within INBOUND_SHUTDOWN_TIMEOUT.

    This is a process's main: should a stop step ignore its bound, a backstop ends the process
    a few seconds after the timeout (it is left running after this returns, to cover the event
    loop's own closing too).
    """
    # The handlers go in before anything starts: a SIGTERM while starting (a deploy that changes
    # its mind, a supervisor's restart) abandons the start and undoes what it did, rather than
    # killing the process half-way with the default handler.
    stop = _Stop(asyncio.get_running_loop(), settings.shutdown_timeout + BACKSTOP)
    try:
        async with running(settings, parts, say) as started:
            stop.started()
            # Started: freeze the heap now. Only once the handlers are in place, as the
            # collection takes a moment and a SIGTERM in it must still stop the process cleanly.
            runtime.settle_heap()
            await stop.requested.wait()
            say("stopping")
            backstop(settings.shutdown_timeout + BACKSTOP)
    except asyncio.CancelledError:
        if not stop.during_start:
            raise
        say("stopped while starting")
        return
    finally:
        stop.remove()
    stuck = await leftovers()
    if stuck:
        # Closing the event loop would wait for them for ever: their work was abandoned
        # within the budget, and what RabbitMQ had delivered goes back when the socket closes.
        log.warning("stopped_leaving_tasks", tasks=stuck, abandoned=started.budget.abandoned)
        exit_now(0)


class _Stop:
    """SIGINT and SIGTERM: while starting they cancel the start; once started they ask to stop."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, loop: asyncio.AbstractEventLoop, backstop_after: float) -> None:
        self.requested = asyncio.Event()
        self._backstop_after = backstop_after
        self.during_start = False
        self._loop = loop
        self._starting: asyncio.Task[object] | None = asyncio.current_task()
        for signum in self.SIGNALS:
            loop.add_signal_handler(signum, self._signalled)

    def started(self) -> None:
        self._starting = None

    def _signalled(self) -> None:
        if self._starting is not None and not self.during_start:
            self.during_start = True
            self._starting.cancel()
            # Undoing the start is bounded like any stop (each step by the budget), and the
            # backstop ends the process should something ignore it.
            backstop(self._backstop_after)
        self.requested.set()

    def remove(self) -> None:
        for signum in self.SIGNALS:
            self._loop.remove_signal_handler(signum)
