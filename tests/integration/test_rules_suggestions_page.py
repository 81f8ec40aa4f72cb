"""The rule suggestions page (/review/services/{id}/rules/suggestions) over real HTTP to a running
inbound, on SQLite and PostgreSQL (issue 18): a suggestion from caseworkers' decisions, "Add to a
draft" making a draft (never a version) that keeps the file's comments, the language asked for in
a bilingual service, the lines to write for rules managed in files, and another service's admin
refused with the audited 404."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from inbound.config import Settings
from inbound.store.models import AuditEvent, RuleDraft, RuleVersion
from tests.conftest import EXAMPLE_RULES
from tests.integration.conftest import Stack, running_stack
from tests.support.browser import Client, Person, add_item, add_person, signed_in
from tests.support.fake_service import FakeService, fake_service
from tests.support.managed_rules import APPOINTMENTS, example_folder, import_rules

BINS = (EXAMPLE_RULES / "bins-bilingual.yaml").read_text(encoding="utf-8")
NUMBERS = {"appointments": "+447700900000", "bins": "+447700900010"}
NUMBERS["street-reports"] = "+447700900001"
PAGE = "/review/services/{}/rules/suggestions"
SENDER = "+447700900456"
CALLBACK_URL = re.compile(r"url: https://\S+")


@dataclass
class Site:
    stack: Stack
    caseworker: Person  # of every service
    lead: Person  # service_admin of those three and food-bank
    admin: Client  # the lead, signed in
    other: Client  # signed in: service_admin of feedback only

    async def decided(self, service: str, texts: tuple[str, ...], action: str) -> list[int]:
        """Review items of `service`, each decided `action` by the caseworker through the API."""
        items = []
        for text in texts:
            item = await add_item(
                self.stack.sessions, service, text, sender=SENDER, recipient=NUMBERS[service]
            )
            url = f"{self.stack.base_url}/api/items/{item}/decide"
            headers = {"Authorization": f"Bearer {self.caseworker.token}"}
            async with self.stack.http.post(url, json={"action": action}, headers=headers) as sent:
                assert sent.status == 200, await sent.text()
            items.append(item)
        return items

    async def count(self, model: type[RuleVersion] | type[RuleDraft]) -> int:
        async with self.stack.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def draft_yaml(self, draft: int) -> str:
        async with self.stack.sessions() as session:
            found = await session.get(RuleDraft, draft)
            assert found is not None
            return found.yaml


def _answered_by(text: str, callbacks: FakeService) -> str:
    """The rules with their callbacks sent to `callbacks`: a callback that fails reopens the
    item, and a reopened item's decision teaches nothing."""
    return CALLBACK_URL.sub(f"url: {callbacks.url}", text)


@asynccontextmanager
async def _started(
    settings: Settings, tmp_path: Path, callbacks: FakeService
) -> AsyncIterator[Stack]:
    # appointments and bins are managed in inbound here; the others stay files.
    folder = example_folder(tmp_path, "appointments.yaml", "bins-bilingual.yaml")
    for path in folder.glob("*.yaml"):
        path.write_text(_answered_by(path.read_text(encoding="utf-8"), callbacks), "utf-8")
    texts = (_answered_by(text, callbacks) for text in (APPOINTMENTS, BINS))
    await import_rules(settings.database_url, folder, *texts, reason="import")
    changed = {"rules_dir": folder, "cookie_secure": False}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        yield stack


@asynccontextmanager
async def suggestions_site(settings: Settings, tmp_path: Path) -> AsyncIterator[Site]:
    """inbound with the example services: appointments and bins managed in inbound, the others
    in files; a caseworker and an admin of three of them, and an admin of feedback only."""
    async with fake_service([200]) as callbacks, _started(settings, tmp_path, callbacks) as stack:
        services = ("appointments", "bins", "street-reports")
        caseworker = await add_person(
            stack.sessions, "ana@council.example", dict.fromkeys(services, "caseworker")
        )
        # food-bank (in files) has no decisions: the page without suggestions.
        admin_of = dict.fromkeys((*services, "food-bank"), "service_admin")
        lead = await add_person(stack.sessions, "lead@council.example", admin_of)
        other = await add_person(
            stack.sessions, "sam@feedback.example", {"feedback": "service_admin"}
        )
        admin = await signed_in(stack.base_url, lead)
        other_client = await signed_in(stack.base_url, other)
        try:
            yield Site(stack, caseworker, lead, admin, other_client)
        finally:
            await admin.close()
            await other_client.close()


@pytest.fixture
async def site(settings: Settings, tmp_path: Path) -> AsyncIterator[Site]:
    async with suggestions_site(settings, tmp_path) as started:
        yield started


def words(page: str) -> str:
    """The page's text, tags dropped and spaces squeezed, as a person reads it."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def test_a_suggestion_goes_into_a_new_draft_which_keeps_the_comments(site: Site) -> None:
    items = await site.decided(
        "appointments", ("See you then", "see you then!", "SEE YOU THEN"), "confirm"
    )
    status, page, _ = await site.admin.get(PAGE.format("appointments"))
    assert status == 200, page
    said = words(page)
    assert "Add “see you then” to rule 'confirm' (confirm)" in said
    assert "3 decisions by 1 caseworker, all confirm, never decided otherwise" in said
    assert "3 would be handled automatically instead of going to a person" in said
    for item in items:
        assert f'href="/review/items/{item}"' in page
    assert SENDER[1:] not in page  # no phone number, whole
    assert SENDER[-6:] not in page  # or in part

    versions = await site.count(RuleVersion)
    status, _, headers = await site.admin.post(
        PAGE.format("appointments"), {"text": "see you then", "action": "confirm"}
    )
    assert status == 303
    where = urlsplit(headers["Location"])
    match = re.fullmatch(r"/review/services/appointments/rules/drafts/(\d+)", where.path)
    assert match is not None, where.path
    assert parse_qs(where.query) == {
        "done": ["suggested"],
        "rule": ["1"],
        "keyword": ["see you then"],
    }
    draft = int(match.group(1))
    text = await site.draft_yaml(draft)
    assert 'okay, i will be there, "👍", see you then]' in text
    assert [line for line in text.splitlines() if "#" in line] == [
        line for line in APPOINTMENTS.splitlines() if "#" in line
    ]
    assert await site.count(RuleVersion) == versions  # a draft, never a version

    # From the draft's page (?draft=), the next suggestion goes into the same draft.
    await site.decided("appointments", ("nope", "Nope.", "NOPE"), "cancel")
    status, page, _ = await site.admin.get(PAGE.format("appointments") + f"?draft={draft}")
    assert status == 200
    assert f'name="draft" value="{draft}"' in page
    drafts = await site.count(RuleDraft)
    status, _, headers = await site.admin.post(
        PAGE.format("appointments"), {"text": "nope", "action": "cancel", "draft": str(draft)}
    )
    assert status == 303
    assert urlsplit(headers["Location"]).path.endswith(f"/drafts/{draft}")
    assert await site.count(RuleDraft) == drafts
    text = await site.draft_yaml(draft)
    assert "see you then]" in text
    assert "can't make it, nope]" in text
    assert await site.count(RuleVersion) == versions


async def test_a_bilingual_rule_asks_which_language(site: Site) -> None:
    await site.decided("bins", ("Iawn diolch", "iawn diolch", "IAWN DIOLCH!"), "confirm")
    status, page, _ = await site.admin.get(PAGE.format("bins"))
    assert status == 200
    assert "Which language is" in words(page)
    assert 'name="language" value="cy"' in page
    assert 'name="language" value="en"' in page
    assert " checked" not in page  # no language is chosen for the admin

    drafts = await site.count(RuleDraft)
    status, page, _ = await site.admin.post(
        PAGE.format("bins"), {"text": "iawn diolch", "action": "confirm"}
    )
    assert status == 400
    assert "Choose the language “iawn diolch” is written in" in words(page)
    assert 'href="#language-1"' in page  # the error summary links to the radios
    assert await site.count(RuleDraft) == drafts

    status, _, headers = await site.admin.post(
        PAGE.format("bins"), {"text": "iawn diolch", "action": "confirm", "language": "cy"}
    )
    assert status == 303
    draft = int(re.findall(r"/drafts/(\d+)", headers["Location"])[0])
    text = await site.draft_yaml(draft)
    assert "cy: [ie, ydw, ie diolch, ydw diolch, cadarnhau, iawn diolch]" in text
    assert "Welsh Hunspell spelling dictionary" in text


async def test_rules_in_files_show_the_lines_to_write_and_no_button(site: Site) -> None:
    await site.decided(
        "street-reports", ("All good now", "all good now", "ALL GOOD NOW"), "feedback"
    )
    status, page, _ = await site.admin.get(PAGE.format("street-reports"))
    assert status == 200
    said = words(page)
    assert "Add “all good now” to rule 'fixed' (feedback)" in said
    assert "managed in files" in said
    assert "Replace line 53:" in said
    assert "keywords: [fixed, all fixed, its fixed, sorted, resolved, all good now]" in said
    assert "Add to a draft" not in said
    drafts = await site.count(RuleDraft)
    status, _, _ = await site.admin.post(
        PAGE.format("street-reports"), {"text": "all good now", "action": "feedback"}
    )
    assert status == 409
    assert await site.count(RuleDraft) == drafts


async def test_no_suggestions_say_what_makes_one(site: Site) -> None:
    await site.decided("appointments", ("maybe", "maybe"), "confirm")  # twice only
    status, page, _ = await site.admin.get(PAGE.format("appointments"))
    assert status == 200
    said = words(page)
    assert "No suggestions yet" in said
    assert "decided it the same way at least 3 times in the last 30 days" in said
    assert "and never any other way" in said


async def test_another_services_admin_gets_the_audited_404(site: Site) -> None:
    await site.decided("appointments", ("See you then", "see you then!", "SEE YOU THEN"), "confirm")
    drafts = await site.count(RuleDraft)
    for path in (PAGE.format("appointments"), PAGE.format("nowhere")):
        status, page, _ = await site.other.get(path)
        assert status == 404
        assert "see you then" not in page
    status, _, _ = await site.other.post(
        PAGE.format("appointments"), {"text": "see you then", "action": "confirm"}
    )
    assert status == 404
    assert await site.count(RuleDraft) == drafts
    async with site.stack.sessions() as session:
        denied = await session.scalars(
            select(AuditEvent.service_id).where(AuditEvent.action == "denied")
        )
        assert sorted(denied) == ["appointments", "appointments", "nowhere"]
    # A caseworker of the service is refused the same way: suggestions are for its admins.
    caseworker = await signed_in(site.stack.base_url, site.caseworker)
    try:
        assert (await caseworker.get(PAGE.format("appointments")))[0] == 404
    finally:
        await caseworker.close()


async def test_a_suggestion_no_longer_offered_is_not_added(site: Site) -> None:
    await site.decided("appointments", ("See you then", "see you then!", "SEE YOU THEN"), "confirm")
    await site.admin.get(PAGE.format("appointments"))
    await site.decided("appointments", ("see you then",), "cancel")  # now it went two ways
    drafts = await site.count(RuleDraft)
    status, page, _ = await site.admin.post(
        PAGE.format("appointments"), {"text": "see you then", "action": "confirm"}
    )
    assert status == 400
    assert "no longer offered" in words(page)
    assert await site.count(RuleDraft) == drafts
