"""A bench's own database connection, and loading a table fast: without its indexes, which
are made again after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from inbound.store.database import create_engine


@asynccontextmanager
async def connection(database_url: str) -> AsyncIterator[AsyncConnection]:
    """One connection of its own, the engine disposed after (no pool left behind)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as opened:
            yield opened
    finally:
        await engine.dispose()


async def drop_indexes(connection: AsyncConnection, table: str) -> list[str]:
    """Drop a table's unique constraints and indexes (not its primary key, nor foreign keys);
    the statements that make them again, exactly as they were."""
    constraints = (
        await connection.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:table AS regclass) AND contype = 'u'"
            ),
            {"table": table},
        )
    ).all()
    indexes = (
        await connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = CAST(:table AS regclass))"
            ),
            {"table": table},
        )
    ).all()
    for name, _ in constraints:
        await connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        await connection.execute(text(f'DROP INDEX "{name}"'))
    return [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for name, definition in constraints
    ] + [definition for _, definition in indexes]
