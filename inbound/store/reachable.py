"""Whether the database can be used, said in one line: the one place drivers' connect errors
are read.

The CLI commands and start-up (`migrate.require_current`) both go through `require_file` and
`reach`, so a missing SQLite file, a closed port, a database that doesn't exist or a refused login
reads the same everywhere, with the URL's password masked, instead of a driver traceback.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# Seconds to wait for the database server to answer before calling it unreachable (asyncpg
# otherwise waits a minute on a port that drops packets).
CONNECT_WITHIN = 10.0

# PostgreSQL's SQLSTATE codes for the connect failures a person can fix, and what to say.
_REFUSED = {
    "3D000": "database {database!r} does not exist on that server: create it "
    "(createdb {database}) or fix the name in INBOUND_DATABASE_URL",
    "28P01": "the server refused the password of user {user!r}: fix INBOUND_DATABASE_URL",
    "28000": "the server refused user {user!r} (no such role, or pg_hba.conf does not let it in "
    "from here): fix INBOUND_DATABASE_URL",
    "57P03": "the server is starting up or shutting down; try again in a moment",
    "53300": "the server has no connection slots left (max_connections)",
}


class DatabaseUnreachable(Exception):
    """The database could not be opened; the message says where and why in one line."""


class SchemaOutOfDate(Exception):
    """The database schema is not at the newest migration (or there is no database yet)."""


def redact(url: str | URL) -> str:
    """The database URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str | URL) -> Path | None:
    """The absolute path of the file a SQLite URL names; None for other databases or memory."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: SQLite resolves it, not us
        return None
    return Path(database).expanduser().absolute()


def require_file(url: str | URL) -> None:
    """Raise SchemaOutOfDate when a SQLite URL names a file that does not exist.

    SQLite would otherwise create an empty file wherever the command happens to run (a relative
    URL is relative to the current folder), and every query would then fail with "no such
    table". Only `inbound migrate` creates the file.
    """
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    given = make_url(url).database or ""
    relative = (
        "" if Path(given).is_absolute() else f" ({given} is relative to the folder you are in)"
    )
    raise SchemaOutOfDate(
        f"no database file at {path}{relative}: run `inbound migrate` to create it, or set "
        "INBOUND_DATABASE_URL to the existing file"
    )


async def reach(engine: AsyncEngine) -> None:
    """Open and close one connection; raise DatabaseUnreachable with a plain reason if it fails."""
    try:
        async with asyncio.timeout(CONNECT_WITHIN), engine.connect():
            pass
    except (OSError, TimeoutError, DBAPIError) as error:
        raise unreachable(error, engine.url) from error


def unreachable(error: BaseException, url: str | URL) -> DatabaseUnreachable:
    """The one-line DatabaseUnreachable for an error raised while connecting to `url`."""
    parsed = make_url(url)
    where = f"cannot reach the database at {redact(parsed)}"
    path = sqlite_file(parsed)
    if path is not None:
        return DatabaseUnreachable(f"cannot open the SQLite file {path}: {_sqlite(error, path)}")
    if isinstance(error, ConnectionRefusedError):
        return DatabaseUnreachable(f"{where}: connection refused (is PostgreSQL running there?)")
    if isinstance(error, socket.gaierror):
        return DatabaseUnreachable(f"{where}: no host called {parsed.host!r}")
    if isinstance(error, TimeoutError):
        return DatabaseUnreachable(f"{where}: no answer within {CONNECT_WITHIN:g} s")
    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "sqlstate", None)
        if isinstance(code, str) and code in _REFUSED:
            reason = _REFUSED[code].format(database=parsed.database, user=parsed.username)
            return DatabaseUnreachable(f"cannot open the database at {redact(parsed)}: {reason}")
        return DatabaseUnreachable(f"{where}: {_first_line(error.orig or error)}")
    return DatabaseUnreachable(f"{where}: {_first_line(error)}")


def _sqlite(error: BaseException, path: Path) -> str:
    reason = _first_line(error.orig if isinstance(error, DBAPIError) and error.orig else error)
    if not path.parent.is_dir():
        return f"{reason} (the folder {path.parent} does not exist)"
    return reason


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
