"""Several RabbitMQ node URLs in INBOUND_AMQP_URL (comma-separated): the connection tries them in
turn at start and on every reconnect. The nodes here are TCP proxies in front of the one real
RabbitMQ, so a "node" can refuse, go away and come back; tests/integration/test_rabbitmq_cluster.py
runs the same contract against a real three-node cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from yarl import URL

from inbound.broker.connection import BrokerRefused, NodesConnection, connect, redact
from inbound.broker.publisher import Publisher
from inbound.broker.topology import BrokerNames
from inbound.commands.config import shown
from inbound.config import Settings, amqp_urls
from inbound.message import InboundMessage
from tests.integration.reliability_support import amqp_through, queue_depth
from tests.support.process import free_port
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually


def message(n: int) -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id=f"node-{n}",
        sender="+447700900123",
        recipient="+447700900000",
        text="yes",
        received_at=datetime.now(UTC),
    )


@pytest.fixture
async def proxies(amqp_url: str) -> AsyncIterator[tuple[TcpProxy, TcpProxy]]:
    """Two "nodes": proxies in front of the real RabbitMQ."""
    target = URL(amqp_url)
    made = (
        TcpProxy(target.host or "127.0.0.1", target.port or 5672),
        TcpProxy(target.host or "127.0.0.1", target.port or 5672),
    )
    for proxy in made:
        await proxy.start()
    yield made
    for proxy in made:
        await proxy.cut()


def port_of(connection: NodesConnection) -> int | None:
    return connection.url.port if connection.connected.is_set() else None


async def test_first_node_refusing_connects_to_the_second(amqp_url: str) -> None:
    closed = str(URL(amqp_url).with_host("127.0.0.1").with_port(free_port()))
    connection = await connect(f"{closed},{amqp_url}", within=5)
    try:
        assert connection.connected.is_set()
        assert connection.url.port == (URL(amqp_url).port or 5672)
        channel = await connection.channel()
        await channel.close()
    finally:
        await connection.close()


async def test_losing_the_connected_node_moves_to_the_next_and_back(
    amqp_url: str, namespace: str, proxies: tuple[TcpProxy, TcpProxy]
) -> None:
    first, second = proxies
    urls = f"{amqp_through(amqp_url, first)}, {amqp_through(amqp_url, second)}"
    connection = await connect(urls, within=5)
    try:
        assert port_of(connection) == first.port
        publisher = await Publisher.open(connection, BrokerNames(namespace), 5, 5.0)
        await publisher.publish(message(1))

        await first.cut()  # the node we are on goes away
        await eventually(lambda: _port(connection), lambda port: port == second.port, within=30)
        await eventually(lambda: _published(publisher, 2), lambda done: done, within=30)

        await first.restore()
        await second.cut()  # and the other one: round to the first again
        await eventually(lambda: _port(connection), lambda port: port == first.port, within=30)
        await eventually(lambda: _published(publisher, 3), lambda done: done, within=30)
    finally:
        await connection.close()
    depth = await queue_depth(amqp_url, f"{namespace}.received")
    assert depth == 3  # each confirmed once: none lost, none twice


async def _port(connection: NodesConnection) -> int | None:
    return port_of(connection)


async def _published(publisher: Publisher, n: int) -> bool:
    # A publish can fail while channels are being restored; the caller tries again.
    from inbound.broker.publisher import PublishFailed

    try:
        await publisher.publish(message(n))
    except PublishFailed:
        await asyncio.sleep(0.2)
        return False
    return True


async def test_a_refused_login_on_one_node_is_the_clear_error(amqp_url: str) -> None:
    closed = str(URL(amqp_url).with_host("127.0.0.1").with_port(free_port()))
    wrong = str(URL(amqp_url).with_user("nobody").with_password("pw-bad-42"))
    with pytest.raises(BrokerRefused, match=r"refused the login of user 'nobody'") as raised:
        await connect(f"{closed},{wrong}", within=5)
    assert "pw-bad-42" not in str(raised.value)


async def test_no_node_answering_names_every_node_and_hides_every_password() -> None:
    urls = f"amqp://u:pw-one@127.0.0.1:{free_port()}/,amqp://u:pw-two@127.0.0.1:{free_port()}/"
    with pytest.raises(Exception, match=r"cannot reach RabbitMQ at amqp://u:\*\*\*@") as raised:
        await connect(urls, within=5)
    said = str(raised.value)
    assert "pw-one" not in said
    assert "pw-two" not in said
    assert said.count("cannot reach RabbitMQ") == 2


def test_redact_and_config_hide_every_password_in_the_list() -> None:
    urls = "amqp://a:secret-1@h1:5672/vh, amqp://b:se,cret-2@h2:5672/vh,amqps://c:s3@h3/"
    assert redact(urls) == "amqp://a:***@h1:5672/vh,amqp://b:***@h2:5672/vh,amqps://c:***@h3/"
    printed = shown("amqp_url", urls)
    for secret in ("secret-1", "se,cret-2", "s3"):
        assert secret not in printed
    assert printed.count("***") == 3


def test_the_setting_takes_a_comma_separated_list() -> None:
    value = "amqp://u:p@rabbit-1:5672/vh,amqp://u:p@rabbit-2:5672/vh , amqp://u:p@rabbit-3/vh"
    settings = Settings(amqp_url=value)
    assert amqp_urls(settings.amqp_url) == [
        "amqp://u:p@rabbit-1:5672/vh",
        "amqp://u:p@rabbit-2:5672/vh",
        "amqp://u:p@rabbit-3/vh",
    ]
    with pytest.raises(ValueError, match=r"http://… is not an amqp"):
        Settings(amqp_url="amqp://rabbit-1/,http://rabbit-2/")


def test_the_aio_pika_hook_the_rotation_wraps_is_there() -> None:
    # NodesConnection picks the node in aio-pika's private per-attempt method; an aio-pika that
    # renamed it would silently use the first URL only.
    import aio_pika

    assert callable(aio_pika.RobustConnection._RobustConnection__connect_transport)
