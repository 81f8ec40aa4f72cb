"""Taking access away (issue 13): `inbound users disable|enable|remove|role` and `inbound tokens
add|list|revoke`, run as an administrator runs them, against a running inbound over real HTTP
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from inbound import cli
from inbound.config import Settings
from inbound.store.models import ApiToken, AuditEvent, Membership, Note, User, WebSession
from inbound.store.users import Audit
from tests.integration.conftest import Stack, running_stack
from tests.support.browser import PASSWORD, Client, Person, add_item, add_person, signed_in

ANA = "ana@appointments.example"
GHOST = "ghost@x.example"


@dataclass(frozen=True)
class Ran:
    """What one `inbound …` command did."""

    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The command's own one-line error (server log lines share stderr in these tests)."""
        lines = [line for line in self.err.splitlines() if line.startswith("inbound: ")]
        assert len(lines) == 1, self.err
        return lines[0]


Command = Callable[..., Awaitable[Ran]]


@pytest.fixture
def command(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Command:
    """Runs `inbound ARGS` on the test's database, in a thread so the server keeps serving."""
    monkeypatch.setenv("INBOUND_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INBOUND_RULES_DIR", str(settings.rules_dir))

    async def run(*argv: str) -> Ran:
        capsys.readouterr()

        def main() -> int:
            try:
                return cli.main(list(argv))
            except SystemExit as exited:  # argparse refusing the words
                return int(exited.code or 0)

        code = await asyncio.to_thread(main)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


@dataclass
class World:
    stack: Stack
    ana: Person  # caseworker of appointments, with an API token made by the test helper
    appointments_item: int
    feedback_item: int

    async def api(self, token: str, path: str = "/api/queue") -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.stack.http.get(self.stack.base_url + path, headers=headers) as response:
            return response.status, await response.json()

    async def user(self, user_id: int) -> User:
        async with self.stack.sessions() as session:
            found = await session.get(User, user_id)
        assert found is not None
        return found

    async def user_id(self, email: str) -> int:
        async with self.stack.sessions() as session:
            found = await session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return int(found)

    async def denied(self) -> dict[str, float]:
        """inbound_access_denied_total by kind, from /metrics."""
        async with self.stack.http.get(self.stack.base_url + "/metrics") as response:
            text = await response.text()
        return {
            sample.labels["kind"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "inbound_access_denied_total"
        }

    async def audit(self, *actions: str) -> list[AuditEvent]:
        async with self.stack.sessions() as session:
            return await Audit(session).events(*actions)

    async def token_row(self, token: str) -> ApiToken:
        async with self.stack.sessions() as session:
            found = await session.scalar(
                select(ApiToken).where(ApiToken.token_hash == _sha256(token))
            )
        assert found is not None
        return found

    async def change_token(self, token: str, **values: Any) -> None:
        async with self.stack.sessions.begin() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.token_hash == _sha256(token)).values(**values)
            )


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running_stack(settings.model_copy(update={"cookie_secure": False})) as stack:
        yield World(
            stack,
            await add_person(stack.sessions, ANA, {"appointments": "caseworker"}),
            await add_item(stack.sessions, "appointments", "see you then"),
            await add_item(stack.sessions, "feedback", "lovely service"),
        )


async def refused(world: World, token: str) -> str:
    """The error code of a 401 for this token (fails if the token still works)."""
    status, body = await world.api(token)
    assert status == 401, body
    code: str = body["error"]["code"]
    return code


async def page_status(client: Client) -> int:
    status, _, _ = await client.get("/review/")
    return status


# -- tokens ------------------------------------------------------------------------------------


async def test_tokens_add_prints_the_token_alone_and_it_opens_the_api(
    world: World, command: Command
) -> None:
    made = await command("tokens", "add", "--user", ANA, "--name", "crm")
    assert made.code == 0, made.err
    token = made.out.removesuffix("\n")
    assert "\n" not in token
    assert len(token.split()) == 1
    assert len(token) >= 40
    assert "shown once" in made.err
    assert token not in made.err
    status, body = await world.api(token)
    assert status == 200
    assert [item["id"] for item in body["items"]] == [world.appointments_item]
    row = await world.token_row(token)
    assert row.name == "crm"
    assert row.expires_at is not None
    assert row.last_used_at is not None
    assert timedelta(days=89) < row.expires_at - row.created_at <= timedelta(days=90)
    added = await world.audit("token_added")
    assert [event.subject for event in added] == [f"token {row.id}"]


async def test_tokens_add_expires_in_sets_the_expiry_and_says_when(
    world: World, command: Command
) -> None:
    made = await command("tokens", "add", "--user", ANA, "--name", "short", "--expires-in", "7")
    assert made.code == 0, made.err
    row = await world.token_row(made.out.strip())
    assert row.expires_at is not None
    assert row.expires_at - row.created_at == timedelta(days=7)
    assert f"until {row.expires_at:%Y-%m-%d %H:%M} UTC, in 7 days" in made.err


async def test_a_revoked_token_is_refused_at_once_and_its_use_audited(
    world: World, command: Command
) -> None:
    assert (await world.api(world.ana.token))[0] == 200
    row = await world.token_row(world.ana.token)
    revoked = await command("tokens", "revoke", str(row.id))
    assert revoked.code == 0, revoked.err
    assert f"token {row.id} (tests, acting as {ANA}) revoked" in revoked.out
    assert await refused(world, world.ana.token) == "token_revoked"
    [event] = await world.audit("token_refused")
    assert (event.user_id, event.subject, event.detail) == (
        row.user_id,
        f"token {row.id}",
        "revoked",
    )
    assert event.address == "127.0.0.1"
    assert [e.subject for e in await world.audit("token_revoked")] == [f"token {row.id}"]
    assert (await world.denied())["revoked_token"] == 1  # a security event an alert can watch


async def test_an_expired_token_is_refused_saying_so_and_its_use_audited(world: World) -> None:
    await world.change_token(world.ana.token, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    status, body = await world.api(world.ana.token)
    assert status == 401
    assert body["error"]["code"] == "token_expired"
    assert "expired" in body["error"]["message"]
    assert [event.detail for event in await world.audit("token_refused")] == ["expired"]
    assert (await world.denied())["expired_token"] == 1


async def test_an_unknown_token_is_refused_as_unknown(world: World) -> None:
    assert await refused(world, "not-a-token-anyone-was-given") == "token_unknown"
    assert await world.audit("token_refused") == []  # it names no account to audit
    assert set((await world.denied()).values()) == {0}


async def test_last_use_is_recorded_at_most_once_a_minute(world: World) -> None:
    assert (await world.token_row(world.ana.token)).last_used_at is None
    assert (await world.api(world.ana.token))[0] == 200
    first = (await world.token_row(world.ana.token)).last_used_at
    assert first is not None
    assert (await world.api(world.ana.token))[0] == 200
    assert (await world.token_row(world.ana.token)).last_used_at == first
    # A minute later (moved back rather than waited for), the next use is recorded.
    await world.change_token(world.ana.token, last_used_at=first - timedelta(seconds=61))
    assert (await world.api(world.ana.token))[0] == 200
    assert (await world.token_row(world.ana.token)).last_used_at > first - timedelta(seconds=1)


async def test_tokens_list_shows_each_token_but_never_the_token_or_its_hash(
    world: World, command: Command
) -> None:
    await add_person(world.stack.sessions, "bo@feedback.example", {"feedback": "caseworker"})
    made = [
        (await command("tokens", "add", "--user", ANA, "--name", "crm")).out.strip(),
        (await command("tokens", "add", "--user", "bo@feedback.example", "--name", "sync")).out,
    ]
    revoke_id = (await world.token_row(made[0])).id
    assert (await command("tokens", "revoke", str(revoke_id))).code == 0
    listed = await command("tokens", "list")
    assert listed.code == 0, listed.err
    header, *rows = listed.out.splitlines()
    assert header.split() == ["ID", "NAME", "OWNER", "CREATED", "LAST", "USED", "EXPIRES", "STATE"]
    assert len(rows) == 4  # the helper's two, and the two above
    assert any(f"{revoke_id}" == row.split()[0] and row.endswith("revoked") for row in rows)
    secrets = [world.ana.token, *(token.strip() for token in made)]
    for secret in secrets:
        assert secret not in listed.out + listed.err
        assert _sha256(secret) not in listed.out + listed.err
    mine = await command("tokens", "list", "--user", ANA)
    assert {row.split()[2] for row in mine.out.splitlines()[1:]} == {ANA}


# -- users -------------------------------------------------------------------------------------


async def test_disabling_a_user_ends_their_session_and_token_at_once(
    world: World, command: Command
) -> None:
    browser = await signed_in(world.stack.base_url, world.ana)
    try:
        assert await page_status(browser) == 200
        assert (await world.api(world.ana.token))[0] == 200
        disabled = await command("users", "disable", ANA)
        assert disabled.code == 0, disabled.err
        assert "sessions are ended and 1 API token revoked" in disabled.out
        assert await page_status(browser) == 303
        assert await refused(world, world.ana.token) == "token_revoked"
    finally:
        await browser.close()
    [event] = await world.audit("user_disabled")
    assert event.subject == ANA


async def test_a_disabled_user_cannot_sign_in_and_enabling_lets_them_but_not_their_token(
    world: World, command: Command
) -> None:
    assert (await command("users", "disable", ANA)).code == 0
    browser = Client(world.stack.base_url)
    try:
        await browser.get("/review/sign-in")
        status, _, headers = await browser.post(
            "/review/sign-in", {"email": ANA, "password": PASSWORD}
        )
        # Whatever the password step answers, nothing past it opens for a disabled account.
        if status == 303:
            status, _, headers = await browser.get("/review/two-factor")
            assert (status, headers["Location"]) == (303, "/review/sign-in")
        assert await page_status(browser) == 303
    finally:
        await browser.close()
    enabled = await command("users", "enable", ANA)
    assert enabled.code == 0, enabled.err
    again = await signed_in(world.stack.base_url, world.ana)
    try:
        assert await page_status(again) == 200
    finally:
        await again.close()
    assert await refused(world, world.ana.token) == "token_revoked"
    assert [e.action for e in await world.audit("user_disabled", "user_enabled")] == [
        "user_disabled",
        "user_enabled",
    ]


async def test_a_disabled_users_session_and_token_are_refused_however_they_were_disabled(
    world: World,
) -> None:
    # Marked disabled in the database alone (no sessions ended, no token revoked): the session
    # check and the token check each refuse on their own.
    browser = await signed_in(world.stack.base_url, world.ana)
    try:
        user_id = await world.user_id(ANA)
        async with world.stack.sessions.begin() as session:
            await session.execute(
                update(User).where(User.id == user_id).values(disabled_at=datetime.now(UTC))
            )
        assert await page_status(browser) == 303
        assert await refused(world, world.ana.token) == "token_revoked"
    finally:
        await browser.close()
    async with world.stack.sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)
        )
    assert left == 0  # the refused session was ended, not just skipped
    assert [event.detail for event in await world.audit("token_refused")] == ["user disabled"]


async def test_reset_two_factor_ends_the_users_tokens_as_well_as_their_sessions(
    world: World, command: Command
) -> None:
    browser = await signed_in(world.stack.base_url, world.ana)
    try:
        assert (await world.api(world.ana.token))[0] == 200
        reset = await command("users", "reset-password", ANA, "--reset-two-factor")
        assert reset.code == 0, reset.err
        assert await page_status(browser) == 303
        assert (await world.api(world.ana.token))[0] == 401
    finally:
        await browser.close()
    assert "1 API token revoked" in reset.out


async def test_a_password_reset_alone_leaves_tokens_working(world: World, command: Command) -> None:
    assert (await command("users", "reset-password", ANA)).code == 0
    assert (await world.api(world.ana.token))[0] == 200


async def test_role_changes_apply_to_the_next_api_request_and_are_audited(
    world: World, command: Command
) -> None:
    path = f"/api/items/{world.feedback_item}"
    assert (await world.api(world.ana.token, path))[0] == 404
    given = await command("users", "role", ANA, "--service", "feedback", "--role", "caseworker")
    assert given.code == 0, given.err
    assert f"{ANA}: caseworker of appointments, caseworker of feedback" in given.out
    assert (await world.api(world.ana.token, path))[0] == 200
    taken = await command("users", "role", ANA, "--service", "feedback", "--remove")
    assert taken.code == 0, taken.err
    assert (await world.api(world.ana.token, path))[0] == 404
    events = await world.audit("role_granted", "role_removed")
    assert [(e.action, e.service_id) for e in events] == [
        ("role_granted", "feedback"),
        ("role_removed", "feedback"),
    ]


async def test_removing_a_user_anonymises_the_account_and_keeps_the_audit_trail(
    world: World, command: Command
) -> None:
    auth = {"Authorization": f"Bearer {world.ana.token}"}
    url = f"{world.stack.base_url}/api/items/{world.appointments_item}/note"
    async with world.stack.http.post(url, json={"text": "called"}, headers=auth) as response:
        assert response.status == 200
    browser = await signed_in(world.stack.base_url, world.ana)
    await browser.close()
    user_id = await world.user_id(ANA)
    before = [e.id for e in await world.audit() if e.user_id == user_id]
    assert len(before) >= 3  # the note, the sign-in's two steps

    removed = await command("users", "remove", ANA)
    assert removed.code == 0, removed.err
    assert f"removed-{user_id}@removed.invalid" in removed.out
    assert f"Audit events, notes and decisions still name user {user_id}" in removed.out

    after = await world.audit()
    assert before == [e.id for e in after if e.user_id == user_id][: len(before)]
    [event] = [e for e in after if e.action == "user_removed"]
    assert (event.user_id, event.subject) == (user_id, ANA)
    account = await world.user(user_id)
    assert account.email == f"removed-{user_id}@removed.invalid"
    assert account.disabled_at is not None
    assert (account.totp_secret, account.platform_admin) == (None, False)
    async with world.stack.sessions() as session:
        notes = (await session.scalars(select(Note.user_id))).all()
        memberships = await session.scalar(
            select(func.count()).select_from(Membership).where(Membership.user_id == user_id)
        )
    assert notes == [user_id]
    assert memberships == 0
    assert await refused(world, world.ana.token) == "token_revoked"
    comeback = Client(world.stack.base_url)
    try:
        await comeback.get("/review/sign-in")
        status, _, _ = await comeback.post("/review/sign-in", {"email": ANA, "password": PASSWORD})
        assert status == 401
    finally:
        await comeback.close()
    # The address is free again: adding it makes a new account, not the old one back.
    assert (await command("users", "add", ANA, "--service", "appointments")).code == 0
    assert await world.user_id(ANA) != user_id


# -- what the commands refuse ------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["tokens", "add", "--user", GHOST, "--name", "a"], f"no user '{GHOST}'"),
        (["tokens", "list", "--user", GHOST], f"no user '{GHOST}'"),
        (["tokens", "revoke", "999"], "no token 999"),
        (["users", "disable", GHOST], f"no user '{GHOST}'"),
        (["users", "enable", ANA], f"{ANA} is not disabled"),
        (["users", "remove", GHOST], f"no user '{GHOST}'"),
        (["users", "role", ANA, "--service", "feedback", "--remove"], "has no role in feedback"),
        (["users", "role", ANA, "--service", "nope", "--role", "caseworker"], "no service 'nope'"),
        (["users", "role", ANA, "--service", "feedback"], "say which role"),
        (["users", "role", ANA, "--role", "platform_admin", "--remove"], "not a platform_admin"),
    ],
    ids=lambda value: " ".join(value[:3]) if isinstance(value, list) else "",
)
async def test_bad_input_is_one_line_and_exit_2(
    world: World, command: Command, words: list[str], said: str
) -> None:
    ran = await command(*words)
    assert ran.code == 2
    assert said in ran.error
    assert ran.out == ""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_revoking_twice_disabling_twice_and_a_token_for_a_disabled_user_are_refused(
    world: World, command: Command
) -> None:
    token_id = str((await world.token_row(world.ana.token)).id)
    assert (await command("tokens", "revoke", token_id)).code == 0
    again = await command("tokens", "revoke", token_id)
    assert again.code == 2
    assert f"token {token_id} is already revoked" in again.error
    assert (await command("users", "disable", ANA)).code == 0
    twice = await command("users", "disable", ANA)
    assert twice.code == 2
    assert f"{ANA} is already disabled" in twice.error
    refused_token = await command("tokens", "add", "--user", ANA, "--name", "x")
    assert refused_token.code == 2
    assert f"{ANA} is disabled" in refused_token.error
    assert refused_token.out == ""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_old_users_token_command_still_makes_a_token_and_names_the_new_one(
    world: World, command: Command
) -> None:
    made = await command("users", "token", ANA, "--name", "old-habit")
    assert made.code == 0, made.err
    assert f"`inbound tokens add --user {ANA} --name old-habit`" in made.err
    assert (await world.api(made.out.strip()))[0] == 200
