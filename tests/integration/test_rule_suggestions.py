"""Suggested keywords from caseworkers' decisions: GET /api/services/{id}/rules/suggestions over
real HTTP to a running inbound, and `inbound rules suggest`, on SQLite and PostgreSQL. The
decisions are made through the API, as caseworkers' tools make them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path

from inbound.config import Settings
from tests.integration.review_support import Desk, callback_secret, desk
from tests.integration.test_api_schema import run_schemathesis
from tests.support.browser import Person, add_item, add_person
from tests.support.process import INBOUND

__all__ = ["callback_secret", "desk"]  # fixtures

PATH = "/api/services/alpha/rules/suggestions"


async def admin_of_alpha(desk: Desk) -> Person:
    email = f"admin-{uuid.uuid4().hex[:6]}@alpha.example"
    return await add_person(desk.stack.sessions, email, {"alpha": "service_admin"})


async def get(desk: Desk, path: str, token: str) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"}
    async with desk.stack.http.get(desk.stack.base_url + path, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def decide(desk: Desk, text: str, decision: str) -> int:
    """A fresh alpha item decided (or dismissed) through the API by the caseworker."""
    item = await desk.item(text)
    if decision == "dismissed":
        status, body = await desk.api(
            "POST", f"/api/items/{item}/dismiss", json={"reason": "nothing to do"}
        )
    else:
        status, body = await desk.api(
            "POST", f"/api/items/{item}/decide", json={"action": decision}
        )
    assert status == 200, body
    return item


async def test_a_reply_decided_the_same_way_three_times_is_suggested(desk: Desk) -> None:
    admin = await admin_of_alpha(desk)
    ydw = [await decide(desk, text, "cancel") for text in ("Na", "na!", "NA")]
    for text, decision in (("Maybe", "confirm"), ("maybe", "confirm"), ("maybe.", "dismissed")):
        await decide(desk, text, decision)
    await decide(desk, "Sí", "confirm")  # twice only
    await decide(desk, "si", "confirm")
    await desk.item("na?")  # waiting: a question, which the keyword would not take
    await desk.item("Na.")  # waiting: the keyword would handle it

    status, body = await get(desk, PATH, admin.token)
    assert status == 200, body
    assert isinstance(body, list)
    assert [(one["text"], one["action"], one["rule"]) for one in body] == [
        ("na", "cancel", "cancel")
    ]
    (one,) = body
    assert one["decisions"]["count"] == 3
    assert one["decisions"]["items"] == ydw
    assert len(one["decisions"]["messages"]) == 3
    # Replayed over alpha's 10 replies: the three decided and "Na." would now be handled.
    assert one["impact"] == {"replayed": 10, "newly_automatic": 4, "changed": 0}

    status, body = await get(desk, PATH + "?min=2", admin.token)
    assert [(one["text"], one["action"]) for one in body] == [("na", "cancel"), ("si", "confirm")]


async def test_only_the_services_admins_see_its_suggestions(desk: Desk) -> None:
    admin = await admin_of_alpha(desk)
    beta_admin = await add_person(
        desk.stack.sessions, f"admin-{uuid.uuid4().hex[:6]}@beta.example", {"beta": "service_admin"}
    )
    await add_item(desk.stack.sessions, "beta", "na")
    status, body = await get(desk, PATH, desk.caseworker.token)
    assert status == 403, body
    assert "service_admin" in json.dumps(body)
    other = await get(desk, PATH, beta_admin.token)
    missing = await get(desk, "/api/services/gamma/rules/suggestions", admin.token)
    assert other[0] == missing[0] == 404
    assert other[1] == missing[1]
    async with desk.stack.http.get(desk.stack.base_url + PATH) as response:
        assert response.status == 401
    for query, field in (("?min=0", "min"), ("?days=abc", "days"), ("?days=400", "days")):
        status, body = await get(desk, PATH + query, admin.token)
        assert status == 400
        assert isinstance(body, dict)
        assert body["error"]["field"] == field


async def test_the_cli_suggests_what_the_api_does(
    desk: Desk, settings: Settings, tmp_path: Path
) -> None:
    for text in ("Na", "na!", "NA"):
        await decide(desk, text, "cancel")
    env = {key: value for key, value in os.environ.items() if not key.startswith("INBOUND_")}
    env["INBOUND_DATABASE_URL"] = settings.database_url
    env["INBOUND_RULES_DIR"] = str(tmp_path / "rules")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INBOUND, "rules", "suggest", *args], env=env, capture_output=True, text=True
        )

    found = await asyncio.to_thread(run, "alpha", "--json")
    assert found.returncode == 0, found.stderr
    assert [(one["text"], one["action"]) for one in json.loads(found.stdout)] == [("na", "cancel")]
    human = await asyncio.to_thread(run, "alpha")
    assert "\"na\" -> cancel (add to rule 'cancel')" in human.stdout
    assert "decided so 3 times, never otherwise" in human.stdout
    none = await asyncio.to_thread(run, "alpha", "--min", "4")
    assert "no suggestions for alpha" in none.stdout
    unknown = await asyncio.to_thread(run, "nope")
    assert unknown.returncode != 0
    assert "no service 'nope'" in unknown.stderr
    assert "alpha" in unknown.stderr  # the services there are


async def test_schemathesis_gets_only_answers_the_document_states(
    desk: Desk, tmp_path: Path
) -> None:
    """The path as /openapi.json documents it, fuzzed with an admin's token: never a 5xx, never
    an answer (status or body) the document doesn't state."""
    admin = await admin_of_alpha(desk)
    for text in ("Na", "na!", "NA"):
        await decide(desk, text, "cancel")
    (tmp_path / "schemathesis.toml").write_text(
        f"""
headers = {{ Authorization = "Bearer {admin.token}" }}

[dictionaries.services]
values = ["alpha", "beta"]

[parameters]
"path.service" = {{ dictionary = "services", probability = 0.7 }}
"""
    )
    returncode, text, statuses = await run_schemathesis(
        desk.stack.base_url, "^/api/services/.*/suggestions$", tmp_path, max_examples=40, seed=18
    )
    assert returncode == 0, text[-8000:]
    assert {200, 404} <= statuses, statuses
