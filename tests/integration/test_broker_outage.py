"""RabbitMQ unreachable while a webhook arrives: never a 2xx for a message that isn't durable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from yarl import URL

from inbound.config import Settings
from inbound.store.models import Message
from tests.integration.conftest import Stack, start_stack
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
async def proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    target = URL(amqp_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def proxied_stack(settings: Settings, proxy: TcpProxy) -> AsyncIterator[Stack]:
    url = str(URL(settings.amqp_url).with_host("127.0.0.1").with_port(proxy.port))
    async for started in start_stack(settings.model_copy(update={"amqp_url": url})):
        yield started


async def test_webhook_while_broker_is_cut_is_spooled_and_relayed_once_it_is_back(
    proxied_stack: Stack, proxy: TcpProxy
) -> None:
    # With the database up, an unreachable broker no longer means 503: the message is written to
    # the spool first (see test_reliability_spool.py for 503 when both are down).
    await proxy.cut()
    payload = {"id": "outage-1", "from": "+447700900123", "to": "+447700900000", "text": "yes"}
    answer = await proxied_stack.post_generic(payload)
    assert answer.status == 202
    ready = await proxied_stack.request("GET", "/readyz", b"", {})
    assert ready.status == 503
    assert ready.json()["checks"]["broker"] is False
    assert await proxied_stack.count(Message) == 0
    await proxy.restore()
    await proxied_stack.processed("outage-1")
    assert await proxied_stack.count(Message) == 1
