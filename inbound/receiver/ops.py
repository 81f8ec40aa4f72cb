"""Endpoints every process serves: /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.broker.topology import BrokerNames
from inbound.lifecycle import is_ready
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.store.database import session_factory
from inbound.store.outage import database_answers
from inbound.store.stats import review_load, spool_depth

log = get_logger("ops")


@dataclass(frozen=True)
class Ops:
    """What the health and metrics endpoints look at."""

    connection: AbstractRobustConnection
    engine: AsyncEngine
    metrics: Metrics
    names: BrokerNames
    # Ready when either RabbitMQ or the database answers (`serve`: the spool covers RabbitMQ,
    # and RabbitMQ the database); otherwise both are needed (workers).
    either_will_do: bool = False


OPS = web.AppKey("ops", Ops)


async def healthz(_: web.Request) -> web.Response:
    """Liveness: the process runs and its event loop answers (whatever RabbitMQ and the
    database do; a restart would not bring them back)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: for `serve`, RabbitMQ or the database answers (either makes a webhook
    durable); for a process with workers, both answer."""
    ops = request.app[OPS]
    # `connected` is cleared while a robust connection is down and re-opening.
    checks = {
        "broker": ops.connection.connected.is_set(),
        "database": await database_answers(session_factory(ops.engine)),
    }
    if not checks["database"]:
        log.warning("database_not_ready")
    ready = is_ready(checks, either_will_do=ops.either_will_do)
    return web.json_response(
        {
            "status": "ready" if ready else "not ready",
            "checks": checks,
            "needs": "broker or database" if ops.either_will_do else "broker and database",
        },
        status=200 if ready else 503,
    )


async def _refresh(ops: Ops) -> None:
    # Gauges are read at scrape time from the shared state, so any one process reports them.
    try:
        async with asyncio.timeout(2), session_factory(ops.engine)() as session:
            ops.metrics.review_open.clear()
            ops.metrics.review_oldest_seconds.clear()
            for load in await review_load(session):
                ops.metrics.review_open.labels(load.service).set(load.open)
                ops.metrics.review_oldest_seconds.labels(load.service).set(load.oldest_seconds)
            ops.metrics.spool_depth.set(await spool_depth(session))
    except (TimeoutError, SQLAlchemyError, OSError) as error:
        log.warning("metrics_database_unavailable", error=type(error).__name__)
    if not ops.connection.connected.is_set():
        log.warning("metrics_broker_unavailable", error="not connected")
        return
    try:
        async with asyncio.timeout(2):
            channel = await ops.connection.channel()
            try:
                for queue in (ops.names.received, ops.names.dead, ops.names.actions):
                    declared = await channel.declare_queue(queue, passive=True)
                    count = declared.declaration_result.message_count or 0
                    ops.metrics.queue_messages.labels(queue).set(count)
            finally:
                await channel.close()
    except (TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError, OSError) as error:
        log.warning("metrics_broker_unavailable", error=type(error).__name__)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format."""
    ops = request.app[OPS]
    await _refresh(ops)
    response = web.Response(body=generate_latest(ops.metrics.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_ops_routes(app: web.Application, ops: Ops, *, with_metrics: bool = True) -> None:
    """Add /healthz and /readyz to an application, and /metrics unless told not to."""
    app[OPS] = ops
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if with_metrics:
        app.router.add_get("/metrics", metrics)
