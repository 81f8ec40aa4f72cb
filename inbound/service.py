"""Starting and stopping the long-running parts (receiver, rules worker) in one process."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.broker.connection import connect
from inbound.broker.publisher import Publisher
from inbound.broker.topology import Names
from inbound.config import Settings
from inbound.logs import get_logger
from inbound.providers.registry import enabled_providers, specs
from inbound.receiver.app import Receiver, create_app
from inbound.rules.load import load_directory
from inbound.store.database import create_engine, session_factory
from inbound.store.migrate import require_current
from inbound.worker.consumer import RulesWorker
from inbound.worker.process import CompiledRules

log = get_logger("service")


def announce(line: str) -> None:
    """Tell the operator something, straight away even when stdout is a pipe."""
    print(line, flush=True)


@dataclass(frozen=True)
class Parts:
    """Which components this process runs."""

    receiver: bool
    worker: bool


@dataclass(frozen=True)
class Running:
    """A started process: where it listens and its parts, for callers and tests."""

    port: int | None
    worker: RulesWorker | None
    connection: AbstractRobustConnection
    engine: AsyncEngine


@asynccontextmanager
async def running(
    settings: Settings, parts: Parts, say: Callable[[str], None] = announce
) -> AsyncIterator[Running]:
    """Start the chosen parts; stop them on exit. Start-up problems raise with a plain reason."""
    rules = CompiledRules(load_directory(settings.rules_dir))
    engine = create_engine(settings.database_url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await require_current(engine)
        connection = await connect(settings.amqp_url)
        stack.push_async_callback(connection.close)
        names = Names(settings.amqp_namespace)
        for service in rules.book.services.values():
            numbers = ", ".join(service.service.numbers)
            say(f"service {service.service.id}: {len(service.rules)} rules, numbers {numbers}")
        worker: RulesWorker | None = None
        if parts.worker:
            worker = RulesWorker(
                connection,
                names,
                session_factory(engine),
                rules,
                prefetch=settings.prefetch,
                delivery_limit=settings.delivery_limit,
                # SQLite has one writer; PostgreSQL takes a transaction per prefetched message.
                concurrency=1 if engine.dialect.name == "sqlite" else settings.prefetch,
                multipart_timeout=settings.multipart_timeout,
            )
            await worker.start()
            stack.push_async_callback(worker.stop)
            say(f"rules worker consuming {names.received}")
        port: int | None = None
        if parts.receiver:
            port = await _start_receiver(settings, rules, connection, engine, names, stack, say)
        yield Running(port, worker, connection, engine)


async def _start_receiver(
    settings: Settings,
    rules: CompiledRules,
    connection: AbstractRobustConnection,
    engine: AsyncEngine,
    names: Names,
    stack: AsyncExitStack,
    say: Callable[[str], None],
) -> int:
    providers = enabled_providers(settings)
    for name, spec in specs().items():
        if name not in providers:
            log.info("provider_disabled", provider=name, enable_with=spec.enabled_by)
    for name in settings.unverified_providers:
        log.warning("provider_unverified", provider=name, risk="anyone can post messages to it")
    publisher = await Publisher.open(
        connection, names, settings.delivery_limit, settings.publish_timeout
    )
    book = rules.book

    def region_for(number: str) -> str | None:
        owner = book.service_for_number(number)
        return owner.service.region if owner else None

    app = create_app(Receiver(settings, providers, publisher, region_for, connection, engine))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    # With port 0 the OS picks one; report the real one.
    port: int = runner.addresses[0][1]
    enabled = ", ".join(sorted(providers)) or "none (set a provider secret)"
    say(f"listening on http://{settings.host}:{port} (webhooks: {enabled})")
    return port


async def run(settings: Settings, parts: Parts, say: Callable[[str], None] = announce) -> None:
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
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
