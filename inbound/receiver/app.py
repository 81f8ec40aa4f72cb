"""The aiohttp application: webhooks, plus the ops endpoints. Handlers only translate HTTP."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from prometheus_client import Counter, Histogram

from inbound import phone
from inbound.broker.publisher import PublishFailed
from inbound.config import Settings
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.providers.base import Provider, WebhookError, WebhookRequest
from inbound.providers.registry import specs
from inbound.providers.stated_time import outside_window
from inbound.receiver.accept import Durable, Nonces, RegionLookup, accept_webhook
from inbound.receiver.headers import stamp_headers
from inbound.receiver.notify_status import Receipts, add_route
from inbound.receiver.openapi import document
from inbound.receiver.ops import Ops, add_ops_routes

log = get_logger("receiver")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Receiver:
    """What the webhook handlers need, built once per process."""

    settings: Settings
    providers: Mapping[str, Provider]
    publisher: Durable  # RabbitMQ with a confirm, else the spool
    region_for: RegionLookup
    metrics: Metrics
    nonces: Nonces  # single-use nonces already accepted (V2-only Plivo)
    # The webhook log lines' logger, bound once: the module's lazy proxy rebuilds a logger on
    # every call, about a fifth of the accept line's cost. Bound when the receiver is built, so
    # after logs.configure (and inside a test's capture_logs).
    log: structlog.typing.FilteringBoundLogger = field(default_factory=lambda: log.bind())
    # Each accepted webhook's line is DEBUG: the worker's `message_processed` is the one INFO
    # line a message gets. Writing a second per webhook cost a tenth of the receiver's CPU (a
    # third of the instructions it spends beyond the HTTP baseline; docs/performance.md).
    # Checked once, so the masks aren't worked out for a line that isn't written.
    log_accepted: bool = field(default_factory=lambda: log.bind().is_enabled_for(logging.DEBUG))
    # The webhooks counter's child per (provider, status): labels() looks it up under a lock.
    counted: dict[tuple[str, int], Counter] = field(default_factory=dict)
    timed: dict[str, Histogram] = field(default_factory=dict)  # the latency child per provider


RECEIVER = web.AppKey("receiver", Receiver)


def _error(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


@web.middleware
async def envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tag the request's log lines with its id; every error leaves as JSON naming the problem.

    One middleware rather than two: each layer costs every webhook a call and a partial.
    """
    given = request.headers.get("X-Request-Id", "")
    # Only a short token is trusted from outside, so a header can't inject log content. A new
    # one is 32 random hex digits like uuid4().hex, from the random module's generator (seeded
    # from the OS, reseeded in a forked child): an id to find a request's lines by, not a
    # secret, so no system call for it on every request (os.urandom's getrandom).
    request_id = (
        given if given.isalnum() and len(given) <= 64 else f"{random.getrandbits(128):032x}"
    )
    # bind/reset rather than bound_contextvars: same effect (the previous value, if any, comes
    # back), without a generator-based context manager on every request.
    tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = _error(error.status, error.reason.lower().replace(" ", "_"), error.reason)
        if "Allow" in error.headers:  # a 405 names the methods there are (RFC 9110)
            response.headers["Allow"] = error.headers["Allow"]
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("unhandled_error", path=request.path, error_id=error_id)
        response = _error(500, "internal", "inbound failed unexpectedly", error_id=error_id)
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
    response.headers["X-Request-Id"] = request_id
    return response


def _public_url(settings: Settings, request: web.Request) -> str:
    # Providers sign the URL they called; behind a proxy that is not the URL we see.
    if settings.public_url:
        return settings.public_url.rstrip("/") + request.raw_path
    # raw_path, not request.url: yarl re-encodes the query (%3A becomes :), and providers sign
    # the URL exactly as they sent it.
    return f"{request.scheme}://{request.host}{request.raw_path}"


def webhook_for(name: str) -> Handler:
    """The handler of POST (and GET) /webhooks/<name>: 2xx only once every message in it is
    confirmed durable. One per known provider, on a static route that resolves by lookup."""
    label = name if name in specs() else "unknown"  # bounded metric label values

    async def webhook(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        response = await _webhook(request, name)
        elapsed = time.perf_counter() - started
        receiver = request.app[RECEIVER]
        key = (label, response.status)
        counter = receiver.counted.get(key)
        if counter is None:
            counter = receiver.counted[key] = receiver.metrics.webhooks.labels(label, str(key[1]))
        counter.inc()
        timer = receiver.timed.get(label)
        if timer is None:
            timer = receiver.timed[label] = receiver.metrics.webhook_seconds.labels(label)
        timer.observe(elapsed)
        return response

    return webhook


async def any_webhook(request: web.Request) -> web.StreamResponse:
    """/webhooks/{provider} for a name no provider has: a 404 naming the problem."""
    return await webhook_for(request.match_info["provider"])(request)


async def _webhook(request: web.Request, name: str) -> web.StreamResponse:
    receiver = request.app[RECEIVER]
    provider = receiver.providers.get(name)
    if provider is None:
        # The same answer for a provider that is off as for one that doesn't exist: a caller
        # on the internet learns neither which are configured nor which settings exist.
        spec = specs().get(name)
        if spec is not None:
            receiver.log.info(
                "webhook_provider_disabled", provider=name, enable_with=spec.enabled_by
            )
        return _error(404, "unknown_provider", "no such webhook")
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
        # aiohttp's headers as they are: a mapping whose lookups ignore case, as the providers'
        # (lower-case) lookups need, without copying them into a new dict on every request.
        headers=request.headers,
        body=body,
        # Most webhooks are a POST without a query: no parsing of one that isn't there.
        query=list(request.query.items()) if "?" in request.raw_path else (),
    )
    try:
        reply, messages = await accept_webhook(
            provider,
            incoming,
            receiver.publisher,
            receiver.region_for,
            receiver.settings.default_region,
            receiver.nonces,
        )
    except WebhookError as error:
        receiver.log.warning("webhook_refused", provider=name, status=error.status, code=error.code)
        return web.json_response(error.body(), status=error.status, headers=dict(error.headers))
    except PublishFailed as error:
        receiver.log.error("publish_failed", provider=name, reason=str(error))
        return web.json_response(
            {"error": {"code": "unavailable", "message": "message not stored; try again"}},
            status=503,
            headers={"Retry-After": "5"},
        )
    for message in messages:
        if receiver.log_accepted:
            receiver.log.debug(
                "webhook_accepted",
                provider=name,
                message=message.key,
                sender=phone.mask(message.sender),
                recipient=phone.mask(message.recipient),
            )
        skew = outside_window(name, message.received_at, message.accepted_at)
        if skew is not None:
            # Kept as the provider stated it; retention and ordering use accepted_at.
            receiver.log.warning(
                "received_at_skewed", provider=name, message=message.key, skew_seconds=skew.seconds
            )
            receiver.metrics.received_at_skewed.labels(name, skew.direction).inc()
    if not reply.headers:
        # The constructor sets the same Content-Type header as the setter, at half the cost;
        # it refuses one given twice, hence only without extra headers.
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)
    response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    if reply.content_type:
        response.content_type = reply.content_type
    return response


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document for this server's endpoints."""
    return web.json_response(document(request.app[RECEIVER].providers))


def create_app(
    ops: Ops,
    receiver: Receiver | None,
    max_body_bytes: int,
    *,
    staff: bool = True,
    hsts: bool = False,
    receipts: Receipts | None = None,
) -> web.Application:
    """The process's aiohttp application: health, and the webhooks if it receives; with `staff`,
    also /metrics and /openapi.json (the staff pages are mounted on it by the caller). `hsts`:
    every answer, the staff pages' and the API's included, carries Strict-Transport-Security.
    `receipts`: also GOV.UK Notify's delivery receipts, at /webhooks/notify-status."""
    app = web.Application(middlewares=[envelope], client_max_size=max_body_bytes)
    stamp_headers(app, hsts=hsts)
    add_ops_routes(app, ops, with_metrics=staff)
    if receiver is not None:
        app[RECEIVER] = receiver
        for name in specs():
            handler = webhook_for(name)
            app.router.add_post(f"/webhooks/{name}", handler)
            app.router.add_get(f"/webhooks/{name}", handler, allow_head=False)
        if receipts is not None:
            add_route(app, receipts)
        app.router.add_post("/webhooks/{provider}", any_webhook)
        app.router.add_get("/webhooks/{provider}", any_webhook, allow_head=False)
        if staff:
            app.router.add_get("/openapi.json", openapi)
    return app


def create_admin_app(ops: Ops, receiver: Receiver | None, *, hsts: bool = False) -> web.Application:
    """The staff listener's application: health, /metrics and /openapi.json; the staff pages and
    /api are mounted on it by the caller. Never the webhooks."""
    app = web.Application(middlewares=[envelope])
    stamp_headers(app, hsts=hsts)
    add_ops_routes(app, ops)
    if receiver is not None:
        app[RECEIVER] = receiver
        app.router.add_get("/openapi.json", openapi)
    return app
