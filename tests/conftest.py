"""Fixtures for real services: RabbitMQ, SQLite and PostgreSQL, and a running inbound."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
from pydantic import SecretStr

from inbound.broker.topology import BrokerNames, delete
from inbound.config import Settings
from inbound.store.database import create_engine
from inbound.store.migrate import upgrade
from tests.support.services import asyncpg_dsn, postgres_url, rabbitmq_url

# log_hygiene: no full phone number in any captured log line; fake_notify: the `fake_notify`
# fixture (a fake GOV.UK Notify on a local port) for any test.
pytest_plugins = ["tests.support.log_hygiene", "tests.support.fake_notify"]
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_RULES = ROOT / "rules" / "examples"
GENERIC_SECRET = "test-generic-secret"
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_ACCOUNT = "AC" + "0" * 32
TEST_RETRY_DELAYS = [0.2, 0.4]
# Seals two-factor keys in the tests' databases (PostgreSQL needs one set; see secret_box.py).
TEST_SECRET_KEY = "uA2yZ3bW4cX5dV6eU7fT8gS9hR0iQ1jP2kO3lN4mM5o="


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A real RabbitMQ for the whole run."""
    with rabbitmq_url() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A real PostgreSQL server for the whole run."""
    with postgres_url() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file each test copies, so migrations run once."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _admin(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _with_database(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=name).render_as_string(False)


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    """A migrated PostgreSQL database each test clones with CREATE DATABASE … TEMPLATE."""
    name = f"inbound_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
    asyncio.run(_migrate(_with_database(postgres_server_url, name)))
    yield name
    asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each kind for one test."""
    if request.param == "sqlite":
        path = tmp_path / "inbound.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: str = request.getfixturevalue("postgres_server_url")
    template: str = request.getfixturevalue("postgres_template")
    name = f"inbound_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _with_database(server, name)
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def namespace(amqp_url: str) -> AsyncIterator[str]:
    """A unique exchange/queue prefix for one test, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        delays = [
            *TEST_RETRY_DELAYS,
            *Settings.model_fields["retry_delays"].get_default(call_default_factory=True),
        ]
        await delete(await connection.channel(), BrokerNames(name), delays)


def settings_for(database_url: str, amqp_url: str, namespace: str, **changes: Any) -> Settings:
    """The tests' settings on a database and namespace, with the example rules."""
    fields: dict[str, Any] = {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "amqp_namespace": namespace,
        "rules_dir": EXAMPLE_RULES,
        "host": "127.0.0.1",
        "port": 0,
        "generic_secret": SecretStr(GENERIC_SECRET),
        "twilio_auth_token": SecretStr(TWILIO_TOKEN),
        "twilio_account_sid": TWILIO_ACCOUNT,
        "publish_timeout": 2.0,
        "log_format": "console",
        "retry_delays": TEST_RETRY_DELAYS,
        "callback_max_attempts": 4,
        "callback_timeout": 2.0,
        "secret_key": SecretStr(TEST_SECRET_KEY),
    }
    return Settings(**{**fields, **changes})


@pytest.fixture
def settings(database_url: str, amqp_url: str, namespace: str) -> Settings:
    """Settings for a test's own database and namespace, with the example rules."""
    return settings_for(database_url, amqp_url, namespace)
