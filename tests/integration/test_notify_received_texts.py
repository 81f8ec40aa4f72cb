"""The Notify-shaped received-texts API (`GET /api/received-text-messages`, and Notify's own
`/v2/received-text-messages`) over real HTTP against a running inbound, on SQLite and
PostgreSQL, driven by GOV.UK Notify's own Python client as well as by plain requests (issue 17).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import select, update

from inbound.config import Settings
from inbound.notify_keys import service_uuid
from inbound.received_texts import message_uuid
from inbound.store.models import ApiToken, AuditEvent, Message, Outcome
from tests.conftest import TEST_SECRET_KEY
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_users_tokens import Command, command  # noqa: F401 (a fixture)
from tests.support.browser import Person, add_person
from tests.support.waiting import eventually

SERVICE = "appointments"  # rules/examples: number +447700900000, region GB
OTHER = "feedback"
NOTIFY_ID = "b51f638b-4295-46e0-a06e-cd41eee7c33b"
MANY = 262  # more than a page of 250, with ties of received_at across the page's edge
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
PATH = "/api/received-text-messages"


@dataclass
class World:
    stack: Stack
    command: Command
    key: str  # a Notify-format key of appointments
    token: str  # a service token of appointments
    other_key: str  # a Notify-format key of feedback
    ana: Person  # a caseworker of appointments with a personal token

    async def get(
        self, path: str = PATH, *, token: str | None = None, header: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": header or f"Bearer {token or self.token}"}
        url = path if path.startswith("http") else self.stack.base_url + path
        async with self.stack.http.get(url, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    def client(self, key: str | None = None) -> NotificationsAPIClient:
        return NotificationsAPIClient(key or self.key, base_url=self.stack.base_url)


async def _add(command: Command, *argv: str) -> str:  # noqa: F811
    made = await command("tokens", "add", *argv)
    assert made.code == 0, made.err
    return made.out.strip()


@pytest.fixture
async def world(
    settings: Settings,
    command: Command,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[World]:
    # The command seals keys with the server's own key, as an operator's shell would.
    monkeypatch.setenv("INBOUND_SECRET_KEY", TEST_SECRET_KEY)
    async with running_stack(settings.model_copy(update={"cookie_secure": False})) as stack:
        ana = await add_person(stack.sessions, "ana@appointments.example", {SERVICE: "caseworker"})
        key = await _add(command, "--service", SERVICE, "--name", "crm reader", "--notify-key")
        token = await _add(command, "--service", SERVICE, "--name", "crm")
        other = await _add(command, "--service", OTHER, "--name", "survey", "--notify-key")
        yield World(stack, command, key, token, other, ana)


def _message(n: int, service: str = SERVICE, **changes: Any) -> Message:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "provider": "twilio",
        "provider_message_id": f"SM{service}{n:05d}",
        "sender": f"+4477009{n:05d}",
        "recipient": "+447700900000",
        "text": f"{service} text {n}",
        "service_id": service,
        "status": "review",
        # Three a second: equal times at the edge of a page must page by id, none lost.
        "received_at": START + timedelta(seconds=n // 3),
        "accepted_at": now,
        "stored_at": now,
    }
    fields.update(changes)
    return Message(**fields)


async def _store(stack: Stack, messages: list[Message]) -> list[int]:
    async with stack.sessions.begin() as session:
        session.add_all(messages)
        await session.flush()
        return [message.id for message in messages]


async def _many(stack: Stack) -> list[str]:
    """MANY texts of appointments and a few of feedback; appointments' ids, newest first."""
    ids = await _store(stack, [_message(n) for n in range(MANY)])
    await _store(stack, [_message(n, OTHER, recipient="+447700900111") for n in range(5)])
    return [str(message_uuid(row)) for row in reversed(ids)]


# -- the key ----------------------------------------------------------------------------------


async def test_tokens_add_notify_key_prints_the_key_alone_and_list_names_it(world: World) -> None:
    made = await world.command(
        "tokens", "add", "--service", SERVICE, "--name", "case system", "--notify-key"
    )
    assert made.code == 0, made.err
    key = made.out.strip()
    assert made.out == key + "\n"  # alone on stdout: `> key.txt` keeps just the key
    assert re.fullmatch(r"case_system-[0-9a-f-]{36}-[0-9a-f-]{36}", key)
    assert key[-73:-37] == str(service_uuid(SERVICE))
    assert key not in made.err
    assert key[-36:] not in made.err
    assert "INBOUND_SECRET_KEY" in made.err  # what sealed it, so the server is set alike
    async with world.stack.sessions() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.name == "case system"))
    assert row is not None
    assert row.notify_secret is not None
    assert key[-36:] not in row.notify_secret  # sealed, not in clear
    listed = await world.command("tokens", "list", "--service", SERVICE)
    assert "service appointments, Notify key" in listed.out
    assert key not in listed.out
    alone = await world.command("tokens", "add", "--name", "x", "--notify-key", "--user", "a@b.c")
    assert (alone.code, alone.out) == (2, "")
    assert "--notify-key makes a service's key" in alone.err


# -- Notify's own client -----------------------------------------------------------------------


async def test_notifys_python_client_reads_every_text_across_pages(world: World) -> None:
    expected = await _many(world.stack)
    client = world.client()
    # The client is synchronous (requests): off the loop, which serves it.
    first = await asyncio.to_thread(client.get_received_texts)
    assert [text["id"] for text in first["received_text_messages"]] == expected[:250]
    assert first["links"]["next"].endswith(f"/v2/received-text-messages?older_than={expected[249]}")
    second = await asyncio.to_thread(client.get_received_texts, expected[249])
    assert [text["id"] for text in second["received_text_messages"]] == expected[250:]
    every = await asyncio.to_thread(lambda: list(client.get_received_texts_iterator()))
    assert [text["id"] for text in every] == expected
    newest = every[0]
    assert newest["content"] == f"appointments text {MANY - 1}"
    assert newest["user_number"] == f"4477009{MANY - 1:05d}"
    assert newest["notify_number"] == "07700900000"
    assert newest["service_id"] == str(service_uuid(SERVICE))
    assert newest["created_at"] == (START + timedelta(seconds=(MANY - 1) // 3)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    # The other service's key reads its own five, and nothing of appointments.
    theirs = await asyncio.to_thread(
        lambda: list(world.client(world.other_key).get_received_texts_iterator())
    )
    assert len(theirs) == 5
    assert {text["inbound"]["service"] for text in theirs} == {OTHER}
    assert {text["service_id"] for text in theirs} == {str(service_uuid(OTHER))}


async def test_notifys_client_is_refused_in_notifys_shape_once_its_key_is_revoked(
    world: World,
) -> None:
    client = world.client()
    assert (await asyncio.to_thread(client.get_received_texts))["received_text_messages"] == []
    async with world.stack.sessions() as session:
        key_id = await session.scalar(
            select(ApiToken.id).where(ApiToken.notify_issuer == str(service_uuid(SERVICE)))
        )
    revoked = await world.command("tokens", "revoke", str(key_id))
    assert revoked.code == 0, revoked.err
    with pytest.raises(HTTPError) as refused:
        await asyncio.to_thread(client.get_received_texts)
    assert refused.value.status_code == 403
    assert refused.value.message == [
        {"error": "AuthError", "message": "Invalid token: API key revoked"}
    ]
    async with world.stack.sessions() as session:
        audited = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "token_refused")
        )
        assert any(event.subject == f"token {key_id}" for event in audited)


# -- paging and what is listed -----------------------------------------------------------------


async def test_a_service_token_pages_by_the_cursor_in_links_next(world: World) -> None:
    expected = await _many(world.stack)
    seen: list[str] = []
    path = PATH
    pages = 0
    while True:
        status, body = await world.get(path)
        assert status == 200, body
        pages += 1
        texts = body["received_text_messages"]
        if not texts:
            assert "next" not in body["links"]
            break
        assert len(texts) <= 250
        seen += [text["id"] for text in texts]
        assert body["links"]["current"].endswith(path)
        path = body["links"]["next"]
        assert f"{PATH}?older_than={texts[-1]['id']}" in path
    assert seen == expected
    assert pages == 3  # 250, 12, then the empty page that ends a Notify client's iterator


async def test_a_text_through_notify_keeps_notifys_id_and_the_cursor_takes_it(
    world: World,
) -> None:
    await _store(world.stack, [_message(1), _message(3)])
    await _store(world.stack, [_message(2, provider="notify", provider_message_id=NOTIFY_ID)])
    status, body = await world.get()
    assert status == 200
    ids = [text["id"] for text in body["received_text_messages"]]
    assert ids[1] == NOTIFY_ID
    assert body["received_text_messages"][1]["inbound"]["provider"] == "notify"
    status, older = await world.get(f"{PATH}?older_than={NOTIFY_ID}")
    assert status == 200
    assert [text["id"] for text in older["received_text_messages"]] == ids[2:]
    # Upper case, as a client may write it, is the same UUID.
    status, older = await world.get(f"{PATH}?older_than={NOTIFY_ID.upper()}")
    assert [text["id"] for text in older["received_text_messages"]] == ids[2:]


async def test_another_services_texts_never_show_nor_serve_as_a_cursor(world: World) -> None:
    mine = await _store(world.stack, [_message(n) for n in range(3)])
    theirs = await _store(world.stack, [_message(n, OTHER) for n in range(3)])
    unassigned = await _store(world.stack, [_message(9, service_id=None)])
    status, body = await world.get()
    shown = {text["id"] for text in body["received_text_messages"]}
    assert shown == {str(message_uuid(row)) for row in mine}
    # A cursor naming another service's text is as unknown as a made-up one: an empty page.
    for row in [*theirs, *unassigned]:
        status, body = await world.get(f"{PATH}?older_than={message_uuid(row)}")
        assert (status, body["received_text_messages"]) == (200, []), body
    status, body = await world.get(f"{PATH}?older_than={uuid.uuid4()}")
    assert (status, body["received_text_messages"]) == (200, [])


async def test_only_texts_still_stored_are_listed(world: World) -> None:
    kept, purged = await _store(world.stack, [_message(1), _message(2, text=None)])
    status, body = await world.get()
    assert status == 200
    assert [text["id"] for text in body["received_text_messages"]] == [str(message_uuid(kept))]
    assert await world.get(f"{PATH}?older_than={message_uuid(purged)}") == (
        200,
        {"received_text_messages": [], "links": {"current": ANY}},
    )


async def test_a_text_carries_what_inbound_did_with_it(world: World) -> None:
    payload = {"id": f"rt-{uuid.uuid4().hex[:10]}", "from": "+447700900123"}
    payload |= {"to": "+447700900000", "text": "YES"}
    assert (await world.stack.post_generic(payload)).status == 202

    async def outcome() -> str | None:
        async with world.stack.sessions() as session:
            return await session.scalar(
                select(Outcome.action)
                .join(Message, Message.id == Outcome.message_id)
                .where(Message.provider_message_id == payload["id"])
            )

    action = await eventually(outcome, lambda found: found is not None)
    status, body = await world.get("/v2/received-text-messages")
    assert status == 200, body
    [text] = body["received_text_messages"]
    assert text["content"] == "YES"
    assert text["user_number"] == "447700900123"
    assert text["inbound"] == {
        "service": SERVICE,
        "provider": "generic",
        "outcome": "processed",
        "action": action,
        "rule": text["inbound"]["rule"],
        "review_state": None,
        "prompt_reference": None,
    }
    assert text["inbound"]["rule"]


# -- refusals, in Notify's shape ---------------------------------------------------------------


def _notify_error(status: int, message: str) -> dict[str, Any]:
    return {"status_code": status, "errors": [{"error": "AuthError", "message": message}]}


def _jwt(issuer: str, secret: str, iat: int | None = None) -> str:
    claims = {"iss": issuer, "iat": int(time.time()) if iat is None else iat}
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


async def test_bad_missing_expired_and_revoked_credentials_are_refused_in_notifys_shape(
    world: World,
) -> None:
    issuer, secret = world.key[-73:-37], world.key[-36:]
    cases: list[tuple[str | None, str | None, int, str]] = [
        (None, "", 401, "Unauthorized, authentication token must be provided"),
        (
            None,
            "Basic dXNlcjpwYXNz",
            401,
            "Unauthorized, authentication bearer scheme must be used",
        ),
        ("not-a-token", None, 403, "Invalid token: API key not found"),
        (
            _jwt(issuer, str(uuid.uuid4())),
            None,
            403,
            "Invalid token: signature, api token is not valid",
        ),
        (_jwt(str(uuid.uuid4()), secret), None, 403, "Invalid token: service not found"),
        (
            _jwt("appointments", secret),
            None,
            403,
            "Invalid token: service id is not the right data type",
        ),
        (
            _jwt(issuer, secret, int(time.time()) - 120),
            None,
            403,
            "Invalid token: expired, check that your system clock is accurate",
        ),
        (
            world.key,
            None,
            403,
            "Invalid token: a Notify API key is not sent itself: send a JWT signed with it, "
            "as Notify's clients do",
        ),
    ]
    for token, header, status, message in cases:
        for path in (PATH, "/v2/received-text-messages"):
            if header == "":
                async with world.stack.http.get(world.stack.base_url + path) as response:
                    got = response.status, await response.json()
            else:
                got = await world.get(path, token=token, header=header)
            assert got == (status, _notify_error(status, message)), (token, header)
    status, body = await world.get(token=world.ana.token)
    assert status == 403
    assert "personal token" in body["errors"][0]["message"]
    # A good JWT, for contrast: the same request with the right secret is answered.
    assert (await world.get(token=_jwt(issuer, secret)))[0] == 200
    # A key in Notify's format is not a bearer token anywhere else either.
    async with world.stack.http.post(
        world.stack.base_url + "/api/prompts",
        json={},
        headers={"Authorization": f"Bearer {world.key}"},
    ) as response:
        assert response.status == 401
        assert (
            "Notify's format is not a bearer token" in (await response.json())["error"]["message"]
        )


async def test_an_expired_key_and_a_revoked_service_token_are_refused(world: World) -> None:
    issuer, secret = world.key[-73:-37], world.key[-36:]
    async with world.stack.sessions.begin() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.notify_issuer == issuer)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        token_id = await session.scalar(
            select(ApiToken.id).where(ApiToken.name == "crm", ApiToken.service_id == SERVICE)
        )
    got = await world.get(token=_jwt(issuer, secret))
    assert got == (403, _notify_error(403, "Invalid token: API key expired, ask for a new one"))
    assert (await world.get())[0] == 200
    assert (await world.command("tokens", "revoke", str(token_id))).code == 0
    assert await world.get() == (403, _notify_error(403, "Invalid token: API key revoked"))


async def test_openapi_documents_both_paths(world: World) -> None:
    async with world.stack.http.get(world.stack.base_url + "/openapi.json") as response:
        document = await response.json()
    for path in (PATH, "/v2/received-text-messages"):
        operation = document["paths"][path]["get"]
        assert set(operation["responses"]) == {"200", "400", "401", "403"}
    schemas = document["components"]["schemas"]
    assert {"ReceivedTextMessages", "ReceivedTextMessage", "NotifyError"} <= set(schemas)


async def test_links_use_the_public_url_behind_a_proxy(
    settings: Settings,
    command: Command,  # noqa: F811
) -> None:
    public = settings.model_copy(update={"public_url": "https://sms.example.gov.uk/"})
    async with running_stack(public) as stack:
        token = await _add(command, "--service", SERVICE, "--name", "crm")
        [row] = await _store(stack, [_message(1)])
        headers = {"Authorization": f"Bearer {token}"}
        async with stack.http.get(stack.base_url + PATH, headers=headers) as response:
            body = await response.json()
    assert body["links"] == {
        "current": "https://sms.example.gov.uk/api/received-text-messages",
        "next": "https://sms.example.gov.uk/api/received-text-messages"
        f"?older_than={message_uuid(row)}",
    }
