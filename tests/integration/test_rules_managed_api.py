"""Rules managed in inbound through the JSON API (/api/services/{id}/rules/…) over real HTTP
against a running inbound, on SQLite and PostgreSQL (issue 18): drafts, publish, conflict,
rollback, bad YAML, scope, audit, and the running worker deciding with the new version."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from inbound.config import Settings
from inbound.managed_rules import Actor, ManagedRules
from inbound.store.models import RuleDraft, RuleVersion
from inbound.store.users import Audit
from tests.conftest import EXAMPLE_RULES
from tests.integration.conftest import Stack, running_stack
from tests.support.browser import Person, add_person
from tests.support.managed_rules import (
    APPOINTMENTS,
    WITH_MAYBE,
    WITH_PERHAPS,
    appointments_in_inbound,
)
from tests.support.waiting import eventually

SERVICE = "appointments"  # managed in inbound in these tests; the other examples in files
BASE = f"/api/services/{SERVICE}/rules"


@dataclass
class Api:
    stack: Stack
    admin: Person  # service_admin of appointments
    caseworker: Person  # caseworker of appointments
    other: Person  # service_admin of street-reports only

    async def call(
        self, method: str, path: str, body: Any = None, *, raw: str | None = None, who: Person
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {who.token}"}
        data: bytes | None = None
        if raw is not None:
            data, headers["Content-Type"] = raw.encode(), "application/yaml"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        url = self.stack.base_url + path
        async with self.stack.http.request(method, url, data=data, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def draft(self, text: str) -> int:
        status, body = await self.call("POST", BASE + "/drafts", raw=text, who=self.admin)
        assert status == 201, body
        return int(body["draft"])

    async def count(self, model: type[RuleVersion] | type[RuleDraft]) -> int:
        async with self.stack.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def in_force_mentions(self, keyword: str) -> bool:
        """Whether the rules in force in the stack's process have `keyword` for appointments."""
        rules = self.stack.running.rules().book.services[SERVICE].rules
        return any(keyword in str(rule.model_dump()) for rule in rules)

    async def decided(self, text: str) -> str:
        sent = {"id": f"m-{uuid.uuid4().hex[:12]}", "from": "07700 900123"}
        sent |= {"to": "+447700900000", "text": text}
        assert (await self.stack.post_generic(sent)).status == 202
        await self.stack.processed(sent["id"])
        outcome = await self.stack.outcome_for(sent["id"])
        return outcome.action if outcome is not None else "review"


@pytest.fixture
async def api(settings: Settings, tmp_path: Path) -> AsyncIterator[Api]:
    folder = await appointments_in_inbound(settings.database_url, tmp_path)
    changed = {"rules_dir": folder, "cookie_secure": False}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        sessions = stack.sessions
        admin = await add_person(sessions, "admin@surgery.example", {SERVICE: "service_admin"})
        caseworker = await add_person(sessions, "ana@surgery.example", {SERVICE: "caseworker"})
        other = await add_person(
            sessions, "sam@streets.example", {"street-reports": "service_admin"}
        )
        yield Api(stack, admin, caseworker, other)


async def test_rules_in_force_say_where_they_are_managed(api: Api) -> None:
    status, body = await api.call("GET", BASE, who=api.caseworker)
    assert status == 200, body
    assert body == {"service": SERVICE, "version": 1, "managed": "inbound", "yaml": APPOINTMENTS}
    status, body = await api.call("GET", "/api/services/street-reports/rules", who=api.other)
    assert status == 200, body
    assert (body["version"], body["managed"]) == (None, "files")
    assert "street-reports" in body["yaml"]
    status, body = await api.call(
        "POST", "/api/services/street-reports/rules/drafts", raw="x: 1", who=api.other
    )
    assert status == 422  # a draft is checked first; a good one is refused as managed in files
    text = (EXAMPLE_RULES / "street-reports.yaml").read_text(encoding="utf-8")
    path = "/api/services/street-reports/rules/drafts"
    status, body = await api.call("POST", path, raw=text, who=api.other)
    assert status == 409, body
    assert body["error"]["code"] == "managed_in_files"
    assert "inbound rules import" in body["error"]["message"]


async def test_publish_makes_a_new_version_the_worker_decides_with(api: Api) -> None:
    assert await api.decided("maybe") == "review"
    status, body = await api.call("POST", BASE + "/drafts", raw=WITH_MAYBE, who=api.admin)
    assert status == 201, body
    assert body["errors"] == []
    assert isinstance(body["warnings"], list)
    assert body["based_on"] == 1
    path = f"{BASE}/drafts/{body['draft']}/publish"
    status, body = await api.call("POST", path, {"reason": "maybe means yes"}, who=api.admin)
    assert status == 201, body
    assert (body["version"], body["based_on"], body["reason"]) == (2, 1, "maybe means yes")
    assert body["author"] == api.admin.email
    assert body["yaml"] == WITH_MAYBE
    status, body = await api.call("GET", BASE, who=api.admin)
    assert (body["version"], body["yaml"]) == (2, WITH_MAYBE)
    # The stack's own worker reloads from the versions table, as every process does.
    await eventually(lambda: api.in_force_mentions("maybe"), bool, within=2)
    assert await api.decided("maybe") == "confirm"
    async with api.stack.sessions() as session:
        events = await Audit(session).events("rules_published")
    [event] = [e for e in events if e.service_id == SERVICE]
    assert event.user_id is not None
    assert event.subject == "rules version 2"
    assert "maybe means yes" in (event.detail or "")


async def test_bad_yaml_is_422_naming_line_and_field_and_nothing_is_saved(api: Api) -> None:
    broken = APPOINTMENTS.replace("action: confirm", "action: confirmm", 1)
    status, body = await api.call("POST", BASE + "/drafts", raw=broken, who=api.admin)
    assert status == 422, body
    [error] = body["errors"]
    assert error["field"] == "rules[0].action"
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "confirmm" in text)
    assert error["line"] == line
    assert "confirm" in error["fix"]
    status, body = await api.call("POST", BASE + "/drafts", raw="rules: [", who=api.admin)
    assert status == 422, body
    assert body["errors"][0]["line"] == 1
    other = APPOINTMENTS.replace("id: appointments", "id: someone-else")
    status, body = await api.call("POST", BASE + "/drafts", raw=other, who=api.admin)
    assert status == 422, body
    assert body["errors"][0]["field"] == "service.id"
    assert await api.count(RuleDraft) == 0
    assert await api.count(RuleVersion) == 1


async def test_a_version_that_would_not_load_is_never_published(api: Api) -> None:
    # Checked alone it is fine; with the rest of the rule book it takes another's number.
    street = (EXAMPLE_RULES / "street-reports.yaml").read_text(encoding="utf-8")
    taken = next(line.split('"')[1] for line in street.splitlines() if '"+44' in line)
    clash = APPOINTMENTS.replace("numbers:\n", f'numbers:\n    - "{taken}"\n', 1)
    assert clash != APPOINTMENTS
    draft = await api.draft(clash)
    path = f"{BASE}/drafts/{draft}/publish"
    status, body = await api.call("POST", path, {"reason": "one more number"}, who=api.admin)
    assert status == 422, body
    assert any(taken in error["problem"] for error in body["errors"])
    assert await api.count(RuleVersion) == 1


async def test_second_publish_from_the_same_version_is_a_conflict_and_nothing_is_lost(
    api: Api,
) -> None:
    first, second = await api.draft(WITH_MAYBE), await api.draft(WITH_PERHAPS)
    status, body = await api.call(
        "POST", f"{BASE}/drafts/{first}/publish", {"reason": "maybe"}, who=api.admin
    )
    assert status == 201, body
    status, body = await api.call(
        "POST", f"{BASE}/drafts/{second}/publish", {"reason": "perhaps"}, who=api.admin
    )
    assert status == 409, body
    assert body["error"]["code"] == "conflict"
    assert (
        "version 2 was published since this draft began from version 1"
        in (body["error"]["message"])
    )
    status, body = await api.call("GET", BASE, who=api.admin)
    assert (body["version"], body["yaml"]) == (2, WITH_MAYBE)
    async with api.stack.sessions() as session:
        kept = await session.get(RuleDraft, second)
    assert kept is not None
    assert kept.yaml == WITH_PERHAPS


async def test_two_publishes_at_once_from_the_same_version_one_wins(api: Api) -> None:
    first, second = await api.draft(WITH_MAYBE), await api.draft(WITH_PERHAPS)
    answers = await asyncio.gather(
        *(
            api.call("POST", f"{BASE}/drafts/{draft}/publish", {"reason": "race"}, who=api.admin)
            for draft in (first, second)
        )
    )
    assert sorted(status for status, _ in answers) == [201, 409], answers
    assert await api.count(RuleVersion) == 2


async def test_rollback_is_a_new_audited_version_with_the_old_rules(api: Api) -> None:
    draft = await api.draft(WITH_MAYBE)
    await api.call("POST", f"{BASE}/drafts/{draft}/publish", {"reason": "try"}, who=api.admin)
    status, body = await api.call(
        "POST", f"{BASE}/versions/1/rollback", {"reason": "too loose"}, who=api.admin
    )
    assert status == 201, body
    assert (body["version"], body["based_on"], body["yaml"]) == (3, 2, APPOINTMENTS)
    status, body = await api.call("GET", BASE + "/versions", who=api.caseworker)
    assert status == 200, body
    assert [v["version"] for v in body["versions"]] == [3, 2, 1]
    assert body["in_force"] == 3
    assert "yaml" not in body["versions"][0]
    status, body = await api.call("GET", BASE + "/versions/2", who=api.caseworker)
    assert (status, body["yaml"], body["reason"]) == (200, WITH_MAYBE, "try")
    status, body = await api.call("GET", BASE + "/versions/9", who=api.caseworker)
    assert status == 404, body
    status, body = await api.call("POST", f"{BASE}/versions/1/rollback", {}, who=api.admin)
    assert status == 422, body
    assert "reason" in body["error"]["message"]
    async with api.stack.sessions() as session:
        events = await Audit(session).events("rules_rolled_back")
    [event] = events
    assert event.subject == "rules version 3"
    assert "to version 1" in (event.detail or "")
    assert "too loose" in (event.detail or "")


async def test_another_services_rules_are_a_404_and_a_caseworker_cannot_change_them(
    api: Api,
) -> None:
    draft = await api.draft(WITH_MAYBE)
    for method, path, body in [
        ("GET", BASE, None),
        ("GET", BASE + "/versions", None),
        ("GET", BASE + "/versions/1", None),
        ("POST", BASE + "/drafts", None),
        ("POST", f"{BASE}/drafts/{draft}/publish", {"reason": "mine"}),
        ("POST", f"{BASE}/versions/1/rollback", {"reason": "mine"}),
        ("GET", "/api/services/nosuch/rules", None),
    ]:
        status, answer = await api.call(method, path, body, who=api.other)
        assert status == 404, (path, answer)
    status, answer = await api.call(
        "POST", f"{BASE}/drafts/{draft}/publish", {"reason": "mine"}, who=api.caseworker
    )
    assert status == 403, answer
    assert "service_admin" in answer["error"]["message"]
    assert await api.count(RuleVersion) == 1


async def test_preview_replays_the_stored_messages_under_a_draft(api: Api) -> None:
    assert await api.decided("maybe") == "review"
    assert await api.decided("yes") == "confirm"
    draft = await api.draft(WITH_MAYBE)
    path = f"{BASE}/drafts/{draft}/preview?days=1"
    status, body = await api.call("POST", path, who=api.admin)
    assert status == 200, body
    [change] = body["changes"]
    assert (change["before"], change["after"]) == ("review", "confirm")
    assert change["message"]["text"] == "maybe"
    assert change["message"]["from"] != "+447700900123"  # masked
    counts = body["counts"]
    assert (counts["replayed"], counts["changed"], counts["review_now_handled"]) == (2, 1, 1)
    assert counts["handled_now_review"] == 0
    status, body = await api.call("POST", f"{BASE}/drafts/{draft}/preview?days=0", who=api.admin)
    assert status == 422, body
    status, body = await api.call("POST", path, who=api.other)
    assert status == 404, body
    assert await api.count(RuleVersion) == 1  # a preview publishes nothing


async def test_the_rules_routes_are_in_openapi(api: Api) -> None:
    async with api.stack.http.get(api.stack.base_url + "/openapi.json") as response:
        document = await response.json()
    paths = document["paths"]
    for path in [
        "/api/services/{service}/rules",
        "/api/services/{service}/rules/drafts",
        "/api/services/{service}/rules/drafts/{draft}/publish",
        "/api/services/{service}/rules/drafts/{draft}/preview",
        "/api/services/{service}/rules/versions",
        "/api/services/{service}/rules/versions/{number}",
        "/api/services/{service}/rules/versions/{number}/rollback",
    ]:
        assert path in paths, path


async def test_an_import_while_running_is_safe_until_the_file_goes(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    shutil.copytree(EXAMPLE_RULES, folder)
    changed = {"rules_dir": folder, "cookie_secure": False}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        in_force = stack.running.rules
        before = in_force()
        managed = ManagedRules(stack.sessions, folder)
        await managed.import_rules(WITH_MAYBE, "moved", Actor("tests"))
        # The file and version 1 both define the service: the reload is refused and the rules
        # in force stay the file's, in this process as in every other.
        await asyncio.sleep(1.5)
        assert in_force() is before
        (folder / "appointments.yaml").unlink()
        await eventually(lambda: _async(in_force() is not before), bool, within=4)
        rules = in_force().book.services[SERVICE].rules
        assert any("maybe" in str(rule.model_dump()) for rule in rules)
        found = await managed.in_force(SERVICE)
        assert (found.version, found.managed.value) == (1, "inbound")


async def _async(value: bool) -> bool:
    return value
