"""Which endpoints each listener answers: the port providers reach can expose only the webhooks.

With INBOUND_ADMIN_PORT the staff pages, /api, /metrics and /openapi.json move to a port of their
own; with `serve --webhooks-only` they are not served at all. Without either, one port serves
everything (a laptop's `make run`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from inbound import bootstrap
from inbound.config import Settings
from inbound.store.database import session_factory
from tests.conftest import settings_for
from tests.integration.conftest import Stack, start_stack

STAFF = ("/review/sign-in", "/api/items", "/metrics", "/openapi.json")
HEALTH = ("/healthz", "/readyz")


async def status(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url, allow_redirects=False) as response:
        return response.status


def payload() -> dict[str, str]:
    return {
        "id": f"listen-{uuid.uuid4().hex[:8]}",
        "from": "+447700900123",
        "to": "+447700900000",
        "text": "YES",
        "received_at": "2026-11-30T09:00:00+00:00",
    }


@asynccontextmanager
async def serving(settings: Settings, parts: bootstrap.Components) -> AsyncIterator[Stack]:
    """inbound running with the given components, and a client for its main port."""
    async with (
        bootstrap.running(settings, parts, say=lambda _: None) as running,
        aiohttp.ClientSession() as http,
    ):
        yield Stack(
            f"http://127.0.0.1:{running.port}", http, session_factory(running.engine), running
        )


def unauthorised_or_page(code: int) -> bool:
    """A staff endpoint that is served answers (a page, a redirect, 401 for /api)."""
    return code in (200, 302, 303, 401)


async def test_admin_port_takes_the_staff_endpoints_off_the_webhook_port(
    database_url: str, amqp_url: str, namespace: str
) -> None:
    settings = settings_for(database_url, amqp_url, namespace, admin_port=0)
    async for stack in start_stack(settings):
        admin_port = stack.running.admin_port
        assert admin_port is not None
        assert admin_port != stack.running.port
        admin = f"http://127.0.0.1:{admin_port}"
        assert (await stack.post_generic(payload())).status == 202
        for path in HEALTH:
            assert await status(stack.http, stack.base_url + path) == 200, path
            assert await status(stack.http, admin + path) == 200, path
        for path in STAFF:
            assert await status(stack.http, stack.base_url + path) == 404, path
            assert unauthorised_or_page(await status(stack.http, admin + path)), path
        assert await status(stack.http, admin + "/webhooks/generic") == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_webhooks_only_serves_no_staff_endpoint_and_metrics_on_their_own_port(
    database_url: str, amqp_url: str, namespace: str
) -> None:
    settings = settings_for(database_url, amqp_url, namespace, admin_port=0, metrics_port=0)
    parts = bootstrap.Components(receiver=True, worker=True, webhooks_only=True)
    async with serving(settings, parts) as stack:
        assert stack.running.admin_port is None  # --webhooks-only wins over INBOUND_ADMIN_PORT
        assert (await stack.post_generic(payload())).status == 202
        for path in HEALTH:
            assert await status(stack.http, stack.base_url + path) == 200, path
        for path in STAFF:
            assert await status(stack.http, stack.base_url + path) == 404, path
        scrape = f"http://127.0.0.1:{stack.running.listening.metrics_port}"
        for path in (*HEALTH, "/metrics"):
            assert await status(stack.http, scrape + path) == 200, path
        for path in ("/review/sign-in", "/api/items", "/openapi.json", "/webhooks/generic"):
            assert await status(stack.http, scrape + path) == 404, path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_webhooks_only_without_a_metrics_port_has_one_listener(
    database_url: str, amqp_url: str, namespace: str
) -> None:
    settings = settings_for(database_url, amqp_url, namespace)
    parts = bootstrap.Components(receiver=True, worker=False, webhooks_only=True)
    async with serving(settings, parts) as stack:
        assert stack.running.listening == bootstrap.Listening(stack.running.port)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_without_an_admin_port_one_port_serves_everything(stack: Stack) -> None:
    assert stack.running.admin_port is None
    assert (await stack.post_generic(payload())).status == 202
    for path in (*HEALTH, *STAFF):
        assert unauthorised_or_page(await status(stack.http, stack.base_url + path)), path
