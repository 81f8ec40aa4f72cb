"""Two-factor keys sealed at rest with INBOUND_SECRET_KEY, and the SQLite file private, on a
running inbound and through the `inbound` command itself (issue 13)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url

from inbound.config import Settings
from inbound.review import auth
from inbound.review.secret_box import SecretBox, SecretKeyError, is_clear
from inbound.secret_keys import split_keys
from inbound.store.database import create_engine, session_factory
from inbound.store.models import User, WebSession
from inbound.store.users import Users
from tests.conftest import TEST_SECRET_KEY
from tests.integration.conftest import Stack
from tests.integration.sign_in_support import (
    Browsers,
    browsers,
    browsers_on,
    caseworker,
    code,
    enrol_page_secret,
    review_stack,
    stack,
    stored_user,
)
from tests.support.browser import PASSWORD
from tests.support.process import inbound, serving

__all__ = ["browsers", "stack"]  # fixtures

KEY_1, KEY_2, KEY_3 = (
    "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=",
    "MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=",
    "MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=",
)


def box(keys: str) -> SecretBox:
    return SecretBox(split_keys(keys))


async def sign_in(browsers: Browsers, email: str, secret: str, step: int = 0) -> int:
    """Password and code; the status of the code's answer (303 when signed in)."""
    browser, status, _, headers = await browsers.password_step(email)
    assert (status, headers["Location"]) == (303, "/review/two-factor")
    await browser.get("/review/two-factor")
    status, _, _ = await browser.post("/review/two-factor", {"code": code(secret, step)})
    return status


async def test_two_factor_keys_are_stored_sealed(stack: Stack, browsers: Browsers) -> None:
    person = await caseworker(stack, "new@alpha.example", enrolled=False)
    browser, _, _, _ = await browsers.password_step(person.email)
    secret = await enrol_page_secret(browser)
    async with stack.sessions() as session:
        [pending] = [row.totp_pending for row in await session.scalars(select(WebSession))]
    assert pending is not None
    assert secret not in pending
    assert box(TEST_SECRET_KEY).open(pending) == secret

    assert (await browser.post("/review/enrol", {"code": code(secret)}))[0] == 303
    stored = (await stored_user(stack, person.email)).totp_secret
    assert stored is not None
    assert secret not in stored
    assert not is_clear(stored)
    assert box(TEST_SECRET_KEY).open(stored) == secret


async def test_a_key_stored_in_clear_keeps_working_and_is_sealed_at_its_next_use(
    stack: Stack, browsers: Browsers
) -> None:
    person = await caseworker(stack, "case@alpha.example")  # written in clear, as before
    assert person.totp_secret is not None
    assert (await stored_user(stack, person.email)).totp_secret == person.totp_secret
    assert await sign_in(browsers, person.email, person.totp_secret) == 303
    stored = (await stored_user(stack, person.email)).totp_secret
    assert stored is not None
    assert not is_clear(stored)
    assert box(TEST_SECRET_KEY).open(stored) == person.totp_secret


async def add_clear_user(database_url: str, email: str) -> str:
    """A user enrolled before keys were sealed (a clear key), written with no inbound running."""
    secret = pyotp.random_base32()
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            user = await Users(session).add(email, auth.hash_password(PASSWORD))
            user.totp_secret = secret
            await Users(session).grant(user, "alpha", "caseworker")
    finally:
        await engine.dispose()
    return secret


async def stored_key(database_url: str, email: str) -> str:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            user = await Users(session).by_email(email)
            assert user is not None
            assert user.totp_secret is not None
            return user.totp_secret
    finally:
        await engine.dispose()


async def test_rotating_the_secret_key_reseals_every_stored_key_at_start_up(
    settings: Settings, tmp_path: Path
) -> None:
    secret = await add_clear_user(settings.database_url, "case@alpha.example")
    steps = iter(range(-1, 2))  # each sign-in uses a later step: a code is used once

    async def start(keys: str) -> None:
        changes = {"secret_key": SecretStr(keys)}
        async with review_stack(settings, tmp_path, **changes) as stack, browsers_on(stack) as web:
            stored = await stored_key(settings.database_url, "case@alpha.example")
            assert box(keys).is_current(stored), "sealed with the first key at start-up"
            assert await sign_in(web, "case@alpha.example", secret, next(steps)) == 303

    await start(KEY_1)  # the clear key is sealed with KEY_1
    await start(f"{KEY_2},{KEY_1}")  # KEY_2 first: re-sealed with it; KEY_1 still opens
    await start(KEY_2)  # KEY_1 retired: nothing needs it any more

    with pytest.raises(SecretKeyError) as refused:
        async with review_stack(settings, tmp_path, secret_key=SecretStr(KEY_3)):
            pass
    user_id = (await _user(settings.database_url, "case@alpha.example")).id
    assert str(refused.value).startswith(
        f"INBOUND_SECRET_KEY opens none of the stored two-factor keys of users {user_id}:"
    )


async def _user(database_url: str, email: str) -> User:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            found = await Users(session).by_email(email)
            assert found is not None
            return found
    finally:
        await engine.dispose()


# -- no INBOUND_SECRET_KEY --------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a key file: SQLite only
async def test_without_a_secret_key_sqlite_keeps_its_own_in_a_private_file(
    settings: Settings, tmp_path: Path
) -> None:
    secret = await add_clear_user(settings.database_url, "case@alpha.example")
    database = Path(make_url(settings.database_url).database or "")
    key_file = database.with_name(database.name + ".secret-key")
    for step in (0, 1):  # two starts: the second finds the file the first made
        async with (
            review_stack(settings, tmp_path, secret_key=None) as stack,
            browsers_on(stack) as web,
        ):
            assert await sign_in(web, "case@alpha.example", secret, step) == 303
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = key_file.read_text().strip()
    assert box(keys).open(await stored_key(settings.database_url, "case@alpha.example")) == secret


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite makes a key file
async def test_without_a_secret_key_postgresql_refuses_to_serve_the_review_pages(
    settings: Settings, tmp_path: Path, env: dict[str, str]
) -> None:
    with pytest.raises(SecretKeyError, match=r"^INBOUND_SECRET_KEY is not set: "):
        async with review_stack(settings, tmp_path, secret_key=None):
            pass
    # As the operator sees it: one line, and how to make a key.
    result = inbound({**env, "INBOUND_DATABASE_URL": settings.database_url}, "serve")
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]  # after the start-up log lines
    assert line.startswith("inbound: INBOUND_SECRET_KEY is not set: ")
    assert "Fernet.generate_key()" in line


def test_a_secret_key_that_is_not_a_key_is_refused_without_printing_it(
    env: dict[str, str],
) -> None:
    result = inbound({**env, "INBOUND_SECRET_KEY": f"{KEY_1},not-a-key-at-all"}, "config")
    assert result.returncode != 0
    assert "INBOUND_SECRET_KEY" in result.stderr
    assert "key 2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-key-at-all" not in result.stderr + result.stdout
    assert KEY_1 not in result.stderr + result.stdout


# -- the SQLite file --------------------------------------------------------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_inbound_makes_the_sqlite_database_and_its_key_readable_by_their_owner_only(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`make run` as a newcomer has it: migrate, run, no INBOUND_SECRET_KEY; a umask that
    would make files world-readable."""
    database = Path(make_url(env["INBOUND_DATABASE_URL"]).database or "")
    with umask(0o022), serving(env, tmp_path / "run") as said:
        assert "listening on" in said
        made = [database, database.with_name("inbound.db.secret-key")]
        made += [database.with_name(f"inbound.db{suffix}") for suffix in ("-wal", "-shm")]
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in made if path.exists()}
    assert set(modes) >= {"inbound.db", "inbound.db.secret-key", "inbound.db-wal"}
    assert set(modes.values()) == {0o600}, modes
