"""How a driver's failure to open the database reads: one line, where and why, password masked.

The table drives `store.reachable.unreachable` with the errors asyncpg and aiosqlite raise (seen
against real servers in tests/integration/test_cli.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from inbound.store.reachable import (
    SchemaOutOfDate,
    redact,
    require_file,
    sqlite_file,
    unreachable,
)

PG = "postgresql+asyncpg://app:hunter2@db.example:5432/inbound"


class DriverError(Exception):
    """What SQLAlchemy's asyncpg adapter wraps: the message and the SQLSTATE code."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def refused(message: str, sqlstate: str) -> DBAPIError:
    return DBAPIError(None, None, DriverError(message, sqlstate))


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            ConnectionRefusedError(111, "Connect call failed"),
            "cannot reach the database at postgresql+asyncpg://app:***@db.example:5432/inbound: "
            "connection refused",
        ),
        (socket.gaierror(-2, "Name or service not known"), "no host called 'db.example'"),
        (TimeoutError(), "no answer within 10 s"),
        (
            refused('database "inbound" does not exist', "3D000"),
            "cannot open the database at postgresql+asyncpg://app:***@db.example:5432/inbound: "
            "database 'inbound' does not exist on that server: create it (createdb inbound)",
        ),
        (refused("password authentication failed", "28P01"), "refused the password of user 'app'"),
        (refused('role "app" does not exist', "28000"), "refused user 'app'"),
        (refused("something else entirely\nDETAIL: more", "XX000"), "something else entirely"),
    ],
)
def test_a_connect_failure_reads_as_one_line_without_the_password(
    error: BaseException, says: str
) -> None:
    message = str(unreachable(error, PG))
    assert says in message
    assert "\n" not in message
    assert "hunter2" not in message


def test_an_unopenable_sqlite_file_names_the_missing_folder(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'inbound.db'}"
    error = DBAPIError(None, None, Exception("unable to open database file"))
    assert str(unreachable(error, url)) == (
        f"cannot open the SQLite file {tmp_path / 'gone' / 'inbound.db'}: unable to open "
        f"database file (the folder {tmp_path / 'gone'} does not exist)"
    )


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite+aiosqlite:///inbound.db", Path.cwd() / "inbound.db"),
        ("sqlite+aiosqlite:////srv/inbound.db", Path("/srv/inbound.db")),
        ("sqlite+aiosqlite://", None),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite:///file:inbound.db?mode=ro&uri=true", None),
        (PG, None),
    ],
)
def test_sqlite_file_is_the_absolute_path_a_url_names(url: str, path: Path | None) -> None:
    assert sqlite_file(url) == path


def test_require_file_passes_an_existing_file_and_any_server(tmp_path: Path) -> None:
    (tmp_path / "there.db").touch()
    require_file(f"sqlite+aiosqlite:///{tmp_path / 'there.db'}")
    require_file(PG)


def test_require_file_names_the_absolute_path_of_a_relative_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SchemaOutOfDate) as raised:
        require_file("sqlite+aiosqlite:///inbound.db")
    assert str(raised.value).startswith(
        f"no database file at {tmp_path / 'inbound.db'} (inbound.db is relative to the folder "
        "you are in): run `inbound migrate`"
    )


def test_redact_hides_only_the_password() -> None:
    assert redact(PG) == "postgresql+asyncpg://app:***@db.example:5432/inbound"
    assert redact("sqlite+aiosqlite:///inbound.db") == "sqlite+aiosqlite:///inbound.db"
