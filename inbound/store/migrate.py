"""Applying and checking Alembic migrations from inside the program (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# SchemaOutOfDate is defined with the other "can't use this database" errors, and is raised here.
from inbound.store.reachable import SchemaOutOfDate as SchemaOutOfDate
from inbound.store.reachable import reach, require_file

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _revisions(connection: Connection) -> tuple[str | None, str | None]:
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return current, head


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def revisions(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the newest revision shipped)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_revisions)


async def require_current(engine: AsyncEngine) -> None:
    """Raise SchemaOutOfDate unless migrations are fully applied, DatabaseUnreachable when the
    database can't be opened (both one line, for start-up to stop with)."""
    require_file(engine.url)
    await reach(engine)
    current, head = await revisions(engine)
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `inbound migrate`"
        )
