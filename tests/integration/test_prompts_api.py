"""Service tokens (`inbound tokens add --service`) and the prompts API (`POST /api/prompts`,
`DELETE /api/prompts/{reference}`) over real HTTP against a running inbound, on SQLite and
PostgreSQL (issue 15)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update

from inbound.config import Settings
from inbound.prompts.model import PromptState
from inbound.store.models import ApiToken, AuditEvent, PromptRow
from inbound.store.prompts import Prompts
from inbound.store.users import Audit
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_users_tokens import Command, command  # noqa: F401 (a fixture)
from tests.support.browser import Person, add_person

ANA = "ana@appointments.example"
ALICE = "+447700900123"
SERVICE = "appointments"  # rules/examples: region GB


def one(reference: str = "appt-8812", to: str = "07700 900123", **more: Any) -> dict[str, Any]:
    return {
        "to": to,
        "reference": reference,
        "expects": ["confirm", "cancel"],
        "expires_at": "2026-12-03T09:00:00Z",
        "sent_at": "2026-11-30T09:00:00Z",
        "text": "Reminder: your appointment on 3 Dec. Reply YES or CANCEL",
        **more,
    }


@dataclass
class Api:
    stack: Stack
    ana: Person  # a caseworker of appointments, with a personal token
    token: str  # a service token of appointments, made with the command

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        data = raw if raw is not None else None
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        url = self.stack.base_url + path
        async with self.stack.http.request(method, url, data=data, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def post(self, body: Any, **options: Any) -> tuple[int, Any]:
        return await self.call("POST", "/api/prompts", body, **options)

    async def stored(self) -> int:
        async with self.stack.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(PromptRow)) or 0)


@pytest.fixture
async def api(settings: Settings, command: Command) -> AsyncIterator[Api]:  # noqa: F811
    async with running_stack(settings.model_copy(update={"cookie_secure": False})) as stack:
        ana = await add_person(stack.sessions, ANA, {SERVICE: "caseworker"})
        made = await command("tokens", "add", "--service", SERVICE, "--name", "reminders")
        assert made.code == 0, made.err
        yield Api(stack, ana, made.out.strip())


# -- service tokens ----------------------------------------------------------------------------


async def test_tokens_add_for_a_service_prints_the_token_alone_and_list_shows_it(
    api: Api,
    command: Command,  # noqa: F811
) -> None:
    made = await command("tokens", "add", "--service", SERVICE, "--name", "crm")
    assert made.code == 0
    token = made.out.strip()
    assert made.out == token + "\n"  # alone on its line, nothing else on stdout
    assert len(token) >= 40
    assert "service appointments" in made.err
    assert token not in made.err
    listed = await command("tokens", "list", "--service", SERVICE)
    assert listed.code == 0
    assert "crm" in listed.out
    assert "reminders" in listed.out
    assert "service appointments" in listed.out
    assert ANA not in listed.out  # personal tokens aren't the service's
    assert token not in listed.out
    everything = await command("tokens", "list")
    assert "service appointments" in everything.out
    assert ANA in everything.out
    async with api.stack.sessions() as session:
        events = await Audit(session).events("token_added")
    assert any(event.service_id == SERVICE and event.user_id is None for event in events)


async def test_tokens_add_refuses_an_unknown_service_and_prints_no_token(
    api: Api,
    command: Command,  # noqa: F811
) -> None:
    made = await command("tokens", "add", "--service", "nosuch", "--name", "crm")
    assert made.code == 2
    assert made.out == ""
    assert "no service 'nosuch'" in made.error
    both = await command("tokens", "add", "--service", SERVICE, "--user", ANA, "--name", "x")
    assert both.code == 2
    assert both.out == ""
    assert "not allowed with" in both.err


async def test_a_service_token_may_call_its_prompts_api_only(api: Api) -> None:
    status, body = await api.call("GET", "/api/queue")
    assert status == 403, body
    assert body["error"]["code"] == "wrong_token"
    assert "prompts API" in body["error"]["message"]
    status, body = await api.call("GET", "/api/items/1")
    assert status == 403, body
    async with api.stack.sessions() as session:
        events = await Audit(session).events("token_refused")
    assert any(event.service_id == SERVICE for event in events)


async def test_a_personal_token_cannot_send_prompts(api: Api) -> None:
    status, body = await api.post(one(), token=api.ana.token)
    assert status == 403, body
    assert "inbound tokens add --service" in body["error"]["message"]
    assert await api.stored() == 0


async def test_a_prompt_naming_another_service_is_refused(api: Api) -> None:
    status, body = await api.post([one(), one("b", service="feedback")])
    assert status == 403, body
    assert body["error"]["field"] == "service"
    assert body["error"]["index"] == 1
    assert await api.stored() == 0


async def test_a_revoked_service_token_is_refused_at_once_and_audited(
    api: Api,
    command: Command,  # noqa: F811
) -> None:
    assert (await api.post(one()))[0] == 201
    async with api.stack.sessions() as session:
        token_id = await session.scalar(select(ApiToken.id).where(ApiToken.service_id.is_not(None)))
    revoked = await command("tokens", "revoke", str(token_id))
    assert revoked.code == 0, revoked.err
    assert "acting for service appointments" in revoked.out
    status, body = await api.post(one("appt-2"))
    assert status == 401
    assert body["error"]["code"] == "token_revoked"
    async with api.stack.sessions() as session:
        refused = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "token_refused")
        )
        assert [(e.service_id, e.detail) for e in refused] == [(SERVICE, "revoked")]
    assert await api.stored() == 1


async def test_an_expired_service_token_is_refused_saying_so(api: Api) -> None:
    async with api.stack.sessions.begin() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.service_id.is_not(None))
            .values(expires_at=ApiToken.created_at)
        )
    status, body = await api.post(one())
    assert status == 401
    assert body["error"]["code"] == "token_expired"


# -- POST /api/prompts -------------------------------------------------------------------------


async def test_one_prompt_is_stored_and_answered_with_its_id_reference_and_number(
    api: Api,
) -> None:
    status, body = await api.post(one())
    assert status == 201, body
    assert body == {"id": body["id"], "reference": "appt-8812", "to": ALICE}
    async with api.stack.sessions() as session:
        (stored,) = await Prompts(session).open_for(SERVICE, ALICE)
    assert stored.reference == "appt-8812"
    assert stored.text is not None
    assert stored.text.startswith("Reminder")
    assert stored.expires_at.isoformat() == "2026-12-03T09:00:00+00:00"


async def test_a_prompt_without_expires_at_stays_open_as_long_as_the_rule_file_says(
    api: Api,
) -> None:
    # rules/examples/appointments.yaml: prompts: {expires_after: 3d}
    prompt = {key: value for key, value in one().items() if key != "expires_at"}
    status, body = await api.post(prompt)
    assert status == 201, body
    async with api.stack.sessions() as session:
        (stored,) = await Prompts(session).open_for(SERVICE, ALICE)
    assert stored.expires_at.isoformat() == "2026-12-03T09:00:00+00:00"  # sent_at + 3 days


async def test_a_batch_is_answered_in_order_and_sending_it_again_duplicates_nothing(
    api: Api,
) -> None:
    batch = [one("a"), one("b", to="+447700900456"), one("c", text=None)]
    status, first = await api.post(batch)
    assert status == 201, first
    assert [(p["reference"], p["to"]) for p in first] == [
        ("a", ALICE),
        ("b", "+447700900456"),
        ("c", ALICE),
    ]
    status, again = await api.post(batch)
    assert status == 201
    assert again == first
    assert await api.stored() == 3


async def test_ndjson_of_ten_thousand_prompts_is_stored(api: Api) -> None:
    lines = [json.dumps(one(f"appt-{n}")) for n in range(10_000)]
    raw = ("\n".join(lines) + "\n").encode()
    status, body = await api.post(None, raw=raw, content_type="application/x-ndjson")
    assert status == 201, body
    assert len(body) == 10_000
    assert body[9_999]["reference"] == "appt-9999"
    assert await api.stored() == 10_000


async def test_more_than_ten_thousand_prompts_are_refused(api: Api) -> None:
    status, body = await api.post([one(f"r{n}") for n in range(10_001)])
    assert (status, body["error"]["code"]) == (422, "too_many"), body
    assert "10,000" in body["error"]["message"]
    assert await api.stored() == 0


BAD: list[tuple[str, Any, str]] = [
    ("to", {"to": None}, "missing"),
    ("to", {"to": "not a number"}, "not a phone number"),
    ("to", {"to": 447700900123}, "not a string"),
    ("reference", {"reference": ""}, "empty"),
    ("reference", {"reference": "x" * 201}, "longer than 200"),
    ("expects", {"expects": []}, "names no action"),
    ("expects", {"expects": ["confrim"]}, "'confrim' is not an action"),
    ("expects", {"expects": ["confirm", "opt_out"]}, "leave them out"),
    ("expects", {"expects": "confirm"}, None),  # a string is read as a list of names
    ("expires_at", {"expires_at": "tomorrow"}, "not a time"),
    ("expires_at", {"expires_at": "2026-12-03T09:00:00"}, "no time zone"),
    ("expires_at", {"expires_at": "2026-11-29T09:00:00Z"}, "not after sent_at"),
    ("sent_at", {"sent_at": "0001-01-01T00:00:00+01:00"}, "between 2000 and 2999"),
    ("text", {"text": "x" * 2001}, "longer than 2000"),
    ("expire_at", {"expire_at": "2026-12-03T09:00:00Z"}, "not a prompt field"),
]


@pytest.mark.parametrize(("field", "change", "why"), BAD)
async def test_a_bad_prompt_in_a_batch_is_refused_naming_field_and_index_and_nothing_is_stored(
    api: Api, field: str, change: dict[str, Any], why: str | None
) -> None:
    bad = {k: v for k, v in {**one("bad"), **change}.items() if v is not None}
    status, body = await api.post([one("a"), one("b"), bad])
    if why is None:
        assert status == 201, body
        return
    assert status == 422, body
    error = body["error"]
    assert (error["field"], error["index"]) == (field, 2)
    assert why in error["message"]
    assert error["message"].startswith("prompt 2: ")
    assert await api.stored() == 0


async def test_a_single_bad_prompt_names_the_field_without_an_index(api: Api) -> None:
    status, body = await api.post(one(to="12"))
    assert status == 422
    assert body["error"]["field"] == "to"
    assert "index" not in body["error"]
    assert "12" not in body["error"]["message"].replace("2026", "")  # the number is masked


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "bad_json"),
        (b"[]", "application/json", 422, "invalid"),
        (b"42", "application/json", 422, "invalid"),
        (b'{"to": "+447700900123"}\nnope\n', "application/x-ndjson", 400, "bad_json"),
        (b"to,reference\n", "text/csv", 415, "unsupported_media_type"),
        (b"[" * 100_000, "application/json", 400, "bad_json"),
    ],
)
async def test_a_body_that_is_not_prompts_is_refused_saying_why(
    api: Api, raw: bytes, content_type: str, status: int, code: str
) -> None:
    answered, body = await api.post(None, raw=raw, content_type=content_type)
    assert (answered, body["error"]["code"]) == (status, code), body
    assert await api.stored() == 0


async def test_an_ndjson_line_that_is_not_json_is_named(api: Api) -> None:
    raw = (json.dumps(one("a")) + "\n\n" + "{oops\n").encode()
    status, body = await api.post(None, raw=raw, content_type="application/x-ndjson")
    assert status == 400
    assert body["error"]["line"] == 3
    assert body["error"]["index"] == 1


# -- DELETE /api/prompts/{reference} -----------------------------------------------------------


async def test_delete_withdraws_a_prompt_and_sending_it_again_reopens_it(api: Api) -> None:
    assert (await api.post(one()))[0] == 201
    status, body = await api.call("DELETE", "/api/prompts/appt-8812?to=07700%20900123")
    assert status == 200, body
    assert (body["reference"], body["to"], body["state"]) == ("appt-8812", ALICE, "withdrawn")
    async with api.stack.sessions() as session:
        assert await Prompts(session).open_for(SERVICE, ALICE) == []
    assert (await api.post(one()))[0] == 201
    async with api.stack.sessions() as session:
        (again,) = await Prompts(session).open_for(SERVICE, ALICE)
    assert again.state is PromptState.OPEN


async def test_delete_of_an_unknown_prompt_or_without_a_number_is_refused(api: Api) -> None:
    assert (await api.post(one()))[0] == 201
    status, body = await api.call("DELETE", "/api/prompts/appt-9999?to=%2B447700900123")
    assert status == 404, body
    status, body = await api.call("DELETE", "/api/prompts/appt-8812?to=%2B447700900456")
    assert status == 404, body
    status, body = await api.call("DELETE", "/api/prompts/appt-8812")
    assert (status, body["error"]["field"]) == (400, "to")
    status, body = await api.call("DELETE", "/api/prompts/appt-8812?to=nonsense")
    assert (status, body["error"]["field"]) == (400, "to")
    status, body = await api.call("DELETE", "/api/prompts/appt-8812?to=%2B447700900123")
    assert status == 200


async def test_openapi_documents_the_prompts_api(api: Api) -> None:
    async with api.stack.http.get(api.stack.base_url + "/openapi.json") as response:
        document = await response.json()
    assert set(document["paths"]["/api/prompts"]) == {"post"}
    assert set(document["paths"]["/api/prompts/{reference}"]) == {"delete"}
    post = document["paths"]["/api/prompts"]["post"]
    assert {"201", "401", "403", "413", "415", "422"} <= set(post["responses"])
    prompt = document["components"]["schemas"]["Prompt"]
    assert prompt["required"] == ["to", "reference", "expects"]
    assert "opt_out" not in prompt["properties"]["expects"]["items"]["enum"]


async def test_a_service_token_cannot_see_or_withdraw_another_services_prompts(
    api: Api,
    command: Command,  # noqa: F811
) -> None:
    made = await command("tokens", "add", "--service", "feedback", "--name", "surveys")
    feedback = made.out.strip()
    status, body = await api.post(one("survey-1"), token=feedback)
    assert status == 201, body
    path = "/api/prompts/survey-1?to=07700900123"
    assert (await api.call("DELETE", path))[0] == 404  # appointments' token: not its prompt
    assert (await api.call("DELETE", path, token=api.ana.token))[0] == 403  # a personal token
    async with api.stack.sessions() as session:
        assert [p.reference for p in await Prompts(session).open_for("feedback", ALICE)] == [
            "survey-1"
        ]
        assert await Prompts(session).open_for(SERVICE, ALICE) == []
