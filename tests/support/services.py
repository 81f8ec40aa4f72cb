"""Finding the real RabbitMQ and PostgreSQL the tests need: given URLs, else testcontainers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import aio_pika
import asyncpg
import pytest
from sqlalchemy.engine import make_url

AMQP_VARIABLE = "INBOUND_TEST_AMQP_URL"
DATABASE_VARIABLE = "INBOUND_TEST_DATABASE_URL"
HOW_TO = (
    "set {variable} (e.g. {example}) to a running server, or install and start Docker so "
    "testcontainers can start one"
)


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _missing(variable: str, example: str) -> None:
    pytest.fail(
        f"{variable} is not set and Docker is not available: "
        + HOW_TO.format(variable=variable, example=example),
        pytrace=False,
    )


async def _check_amqp(url: str) -> None:
    connection = await asyncio.wait_for(aio_pika.connect(url), 10)
    await connection.close()


async def _check_postgres(url: str) -> None:
    connection = await asyncio.wait_for(asyncpg.connect(url), 10)
    await connection.close()


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain libpq-style URL asyncpg takes, from a SQLAlchemy URL."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


@contextmanager
def rabbitmq_url() -> Iterator[str]:
    """A reachable RabbitMQ URL, or a test failure that says what to set."""
    with ExitStack() as stack:
        url = os.environ.get(AMQP_VARIABLE)
        if not url:
            if not _docker_available():
                _missing(AMQP_VARIABLE, "amqp://guest:guest@127.0.0.1:5672/")
            from testcontainers.rabbitmq import RabbitMqContainer

            container = stack.enter_context(RabbitMqContainer("rabbitmq:3.13"))
            host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
            url = f"amqp://guest:guest@{host}:{port}/"
        try:
            asyncio.run(_check_amqp(url))
        except Exception as error:
            pytest.fail(f"RabbitMQ at {url} is not reachable ({error!r}): start it", pytrace=False)
        yield url


@contextmanager
def postgres_url() -> Iterator[str]:
    """A reachable PostgreSQL URL (postgresql+asyncpg://…), or a test failure saying what to set."""
    with ExitStack() as stack:
        url = os.environ.get(DATABASE_VARIABLE)
        if not url:
            if not _docker_available():
                _missing(DATABASE_VARIABLE, "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
            from testcontainers.postgres import PostgresContainer

            container = stack.enter_context(PostgresContainer("postgres:16", driver="asyncpg"))
            url = container.get_connection_url()
        try:
            asyncio.run(_check_postgres(asyncpg_dsn(url)))
        except Exception as error:
            pytest.fail(
                f"PostgreSQL at {url} is not reachable ({error!r}): start it", pytrace=False
            )
        yield url
