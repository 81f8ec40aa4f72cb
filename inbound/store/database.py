"""Creating the async engine for SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from inbound.store.reachable import sqlite_file


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    # WAL lets the receiver read while the worker writes; busy_timeout waits out a writer
    # instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def private_file(path: Path) -> None:
    """Make the SQLite file readable by its owner only (0600), creating it empty if need be.

    It holds password hashes and two-factor keys. SQLite would create it with the umask's
    permissions (often world-readable), and gives its -wal and -shm files the same mode as the
    database, so setting it here, before SQLite opens the file, covers all three. An existing
    file is tightened too, when this process owns it.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            with contextlib.suppress(PermissionError):  # not ours to change: leave it
                path.chmod(mode & 0o700)
    else:
        os.close(descriptor)


def _before_connect(path: Path) -> Callable[..., None]:
    def make_private(*_: object) -> None:
        private_file(path)

    return make_private


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs."""
    # No pool_pre_ping: it costs a round trip per checkout, and a connection found dead in use
    # is invalidated by SQLAlchemy anyway; the worker retries that message on a fresh one.
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        path = sqlite_file(url)
        if path is not None:
            # Just before a connection opens the file: making it earlier would hide a missing
            # database from require_file, which only `inbound migrate` may get past.
            event.listen(engine.sync_engine, "do_connect", _before_connect(path))
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
