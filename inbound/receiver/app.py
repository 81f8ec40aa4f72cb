"""The aiohttp application: webhooks, /healthz and /readyz. Handlers only translate HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound import phone
from inbound.broker.publisher import Publisher, PublishFailed
from inbound.config import Settings
from inbound.logs import get_logger
from inbound.providers.base import Provider, WebhookError, WebhookRequest
from inbound.providers.registry import specs
from inbound.receiver.accept import RegionLookup, accept_webhook
from inbound.receiver.openapi import document

log = get_logger("receiver")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Receiver:
    """What the webhook handlers need, built once per process."""

    settings: Settings
    providers: Mapping[str, Provider]
    publisher: Publisher
    region_for: RegionLookup
    connection: AbstractRobustConnection
    engine: AsyncEngine


RECEIVER = web.AppKey("receiver", Receiver)


def _error(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON naming the problem; an unexpected one is logged with an id."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _error(error.status, error.reason.lower().replace(" ", "_"), error.reason)
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("unhandled_error", path=request.path, error_id=error_id)
        return _error(500, "internal", "inbound failed unexpectedly", error_id=error_id)


def _public_url(settings: Settings, request: web.Request) -> str:
    # Providers sign the URL they called; behind a proxy that is not the URL we see.
    if settings.public_url:
        return settings.public_url.rstrip("/") + request.raw_path
    # raw_path, not request.url: yarl re-encodes the query (%3A becomes :), and providers sign
    # the URL exactly as they sent it.
    return f"{request.scheme}://{request.host}{request.raw_path}"


async def webhook(request: web.Request) -> web.StreamResponse:
    """POST /webhooks/{provider}: 2xx only once every message in it is confirmed durable."""
    receiver = request.app[RECEIVER]
    name = request.match_info["provider"]
    provider = receiver.providers.get(name)
    if provider is None:
        spec = specs().get(name)
        if spec is not None:
            return _error(404, "provider_disabled", f"{name} is not enabled: set {spec.enabled_by}")
        return _error(404, "unknown_provider", f"no provider called {name!r}")
    if request.method not in provider.methods:
        allowed = ", ".join(sorted(provider.methods))
        return _error(405, "method_not_allowed", f"{name} webhooks use {allowed}")
    limit = receiver.settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _error(413, "too_large", f"body is over the {limit}-byte limit")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "too_large", f"body is over the {limit}-byte limit")
    incoming = WebhookRequest(
        method=request.method,
        url=_public_url(receiver.settings, request),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=body,
        query=list(request.query.items()),
    )
    try:
        reply, messages = await accept_webhook(
            provider,
            incoming,
            receiver.publisher,
            receiver.region_for,
            receiver.settings.default_region,
        )
    except WebhookError as error:
        log.warning("webhook_refused", provider=name, status=error.status, code=error.code)
        return web.json_response(error.body(), status=error.status, headers=dict(error.headers))
    except PublishFailed as error:
        log.error("publish_failed", provider=name, reason=str(error))
        return web.json_response(
            {"error": {"code": "unavailable", "message": "message not stored; try again"}},
            status=503,
            headers={"Retry-After": "5"},
        )
    for message in messages:
        log.info(
            "webhook_accepted",
            provider=name,
            message=message.key,
            sender=phone.mask(message.sender),
            recipient=phone.mask(message.recipient),
        )
    response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    if reply.content_type:
        response.content_type = reply.content_type
    return response


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document for this server's endpoints."""
    return web.json_response(document(request.app[RECEIVER].providers))


async def healthz(_: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready only when RabbitMQ and the database both answer."""
    receiver = request.app[RECEIVER]
    # `connected` is cleared while a robust connection is down and re-opening.
    checks = {"broker": receiver.connection.connected.is_set(), "database": False}
    try:
        async with asyncio.timeout(2), receiver.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception as error:
        log.warning("database_not_ready", error=type(error).__name__)
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def create_app(receiver: Receiver) -> web.Application:
    """The receiver's aiohttp application."""
    app = web.Application(
        middlewares=[json_errors], client_max_size=receiver.settings.max_body_bytes
    )
    app[RECEIVER] = receiver
    app.router.add_post("/webhooks/{provider}", webhook)
    app.router.add_get("/webhooks/{provider}", webhook, allow_head=False)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
