"""`inbound rules check` warns about a service with no caseworker, read from the database (on
SQLite and PostgreSQL), and only notes that it couldn't check when there is no database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbound.cli import main
from inbound.store.database import create_engine, session_factory
from inbound.store.users import Users
from tests.integration.test_actions import ALPHA, BETA, rules_dir
from tests.support.browser import add_person

WARNING = (
    "warning: service 'beta' has no caseworker: its review items will reach nobody. "
    "Add one with `inbound users add EMAIL --service beta --role caseworker`"
)


async def _staff(url: str) -> None:
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        await add_person(sessions, "ana@alpha.example", {"alpha": "caseworker"})
        # A disabled account works no queue: beta's only member can't sign in.
        await add_person(sessions, "gone@beta.example", {"beta": "caseworker"})
        async with sessions.begin() as session:
            users = Users(session)
            gone = await users.by_email("gone@beta.example")
            assert gone is not None
            await users.disable(gone, datetime.now(UTC))
    finally:
        await engine.dispose()


def test_rules_check_warns_about_a_service_with_no_caseworker(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = rules_dir(
        tmp_path, [("alpha", ALPHA, "https://alpha.example/"), ("beta", BETA, "https://b.example/")]
    )
    asyncio.run(_staff(database_url))
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    code = main(["rules", "check", str(folder)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert WARNING in out
    assert "service 'alpha' has no caseworker" not in out
    assert "2 services, 0 errors, 1 warnings" in out


def test_rules_check_without_a_database_says_it_could_not_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rules_dir(tmp_path, [("alpha", ALPHA, "https://alpha.example/")])
    monkeypatch.setenv("INBOUND_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    code = main(["rules", "check", str(folder)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "note: couldn't check which services have a caseworker (no database file at" in out
    assert "1 services, 0 errors, 0 warnings" in out
    monkeypatch.setenv("INBOUND_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:9/none")
    code = main(["rules", "check", str(folder)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "note: couldn't check which services have a caseworker (cannot reach" in out
