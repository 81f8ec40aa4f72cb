"""The rules publishing pages over HTTP (issue 18): what a link or a form can send that the
browser tests don't: days out of range, pages of changes, versions that don't exist, someone
who isn't the service's admin. Each is a page that says what is wrong, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from inbound.config import Settings
from inbound.managed_rules import Actor, ManagedRules
from tests.integration.conftest import Stack, running_stack
from tests.support.browser import Client, Person, add_item, add_person, signed_in
from tests.support.managed_rules import WITH_MAYBE, appointments_in_inbound

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SERVICE = "appointments"
RULES = f"/review/services/{SERVICE}/rules"


@dataclass
class Pages:
    stack: Stack
    managed: ManagedRules
    admin: Client
    caseworker: Person
    draft: int


@pytest.fixture
async def pages(settings: Settings, tmp_path: Path) -> AsyncIterator[Pages]:
    folder = await appointments_in_inbound(settings.database_url, tmp_path)
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as stack:
        admin = await add_person(
            stack.sessions, "admin@surgery.example", {SERVICE: "service_admin"}
        )
        caseworker = await add_person(stack.sessions, "cw@surgery.example", {SERVICE: "caseworker"})
        managed = ManagedRules(stack.sessions, folder)
        draft = (await managed.draft(SERVICE, WITH_MAYBE, Actor(admin.email))).draft.id
        client = await signed_in(stack.base_url, admin)
        try:
            yield Pages(stack, managed, client, caseworker, draft)
        finally:
            await client.close()


@pytest.mark.parametrize("days", ["abc", "0", "91", "-3", "nan", "inf", "", "1e400"])
async def test_days_out_of_range_are_an_error_summary(pages: Pages, days: str) -> None:
    status, page, _ = await pages.admin.get(f"{RULES}/drafts/{pages.draft}/preview?days={days}")
    assert status == 400
    assert "There is a problem" in page
    assert "Enter a number of days from 1 to 90" in page
    assert 'href="#days"' in page


async def test_changes_come_fifty_to_a_page(pages: Pages) -> None:
    for n in range(55):
        await add_item(
            pages.stack.sessions,
            SERVICE,
            "maybe",
            sender=f"+4477009{n:05d}",
            recipient="+447700900000",
            age=timedelta(hours=1 + n),
        )
    preview = f"{RULES}/drafts/{pages.draft}/preview?days=7"
    status, page, _ = await pages.admin.get(preview)
    assert status == 200
    assert "Messages 1 to 50 of 55" in page
    assert f'href="{preview}&amp;page=2"' in page
    assert page.count("confirm (automatic)") == 2 * 50  # the table and the phone's cards
    status, page, _ = await pages.admin.get(preview + "&page=2")
    assert "Messages 51 to 55 of 55" in page
    assert f'href="{preview}&amp;page=1"' in page
    for odd in ("999", "0", "x", "99999999999"):
        status, page, _ = await pages.admin.get(f"{preview}&page={odd}")
        assert status == 200, odd
        assert "Messages 51 to 55" in page if odd == "999" else "Messages 1 to 50" in page
    assert "+447700900001" not in page  # numbers masked


async def test_a_version_or_draft_that_does_not_exist_is_404(pages: Pages) -> None:
    for path in (
        "/drafts/999/preview",
        "/drafts/999/publish",
        "/versions/9",
        "/versions/9/rollback",
    ):
        status, _, _ = await pages.admin.get(RULES + path)
        assert status == 404, path
    status, _, _ = await pages.admin.post(f"{RULES}/drafts/999/publish", {"reason": "x"})
    assert status == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=abc&to=1", "from"), ("from=1&to=9", "to"), ("from=1", "to"), ("to=1", "from")],
)
async def test_a_diff_of_versions_that_are_not_there_says_so(
    pages: Pages, query: str, field: str
) -> None:
    status, page, _ = await pages.admin.get(f"{RULES}/versions/diff?{query}")
    assert status == 400
    assert f'href="#{field}"' in page
    assert f"Choose the version to compare {field}" in page


async def test_someone_not_the_services_admin_can_neither_see_nor_publish(pages: Pages) -> None:
    caseworker = await signed_in(pages.stack.base_url, pages.caseworker)
    try:
        await caseworker.get("/review/")
        for path in (f"/drafts/{pages.draft}/preview", f"/drafts/{pages.draft}/publish"):
            status, _, _ = await caseworker.get(RULES + path)
            assert status == 404, path
        path = f"{RULES}/drafts/{pages.draft}/publish"
        status, _, _ = await caseworker.post(path, {"reason": "sneaky"})
        assert status == 404
        status, _, _ = await caseworker.post(f"{RULES}/versions/1/rollback", {"reason": "sneaky"})
        assert status == 404
    finally:
        await caseworker.close()
    assert [v.number for v in await pages.managed.versions(SERVICE)] == [1]


async def test_the_version_in_force_offers_no_rollback(pages: Pages) -> None:
    await pages.managed.publish(SERVICE, pages.draft, "maybe means yes", Actor("tests"))
    _, page, _ = await pages.admin.get(f"{RULES}/versions/2")
    assert "In force" in page
    assert "Roll back to this version" not in page
    _, page, _ = await pages.admin.get(f"{RULES}/versions/1")
    assert "Roll back to this version" in page
    # A done banner's version only names one whose rules are this version's.
    _, page, _ = await pages.admin.get(f"{RULES}/versions/2?done=rolled-back&from=1")
    assert "with the rules of an earlier version" in page
    _, page, _ = await pages.admin.get(f"{RULES}/versions/1?done=published")
    assert "Published:" not in page


async def test_testing_an_empty_message_asks_for_one(pages: Pages) -> None:
    await pages.admin.get(f"{RULES}/drafts/{pages.draft}/preview")
    path = f"{RULES}/drafts/{pages.draft}/preview?days=7"
    status, page, _ = await pages.admin.post(path, {"text": "  "})
    assert status == 400
    assert '<a href="#test-text">Enter a message to test</a>' in page
    status, page, _ = await pages.admin.post(path, {"text": "maybe"})
    assert status == 200
    assert "The draft changes what happens to this message." in page


async def test_a_message_tested_as_a_reply_to_a_reminder_is_decided_by_each_version(
    pages: Pages,
) -> None:
    path = f"{RULES}/drafts/{pages.draft}/preview?days=7"
    _, page, _ = await pages.admin.get(path)
    # The boxes offer the actions a reminder may expect, not a manual or standing one.
    assert 'name="expects" value="confirm"' in page
    assert 'name="expects" value="cancel"' in page
    assert 'value="opt_out"' not in page
    assert 'value="manual"' not in page
    # "maybe" only the draft confirms: as a reply to a reminder expecting confirm, the draft
    # answers it and the version in force sends it to a person.
    status, page, _ = await pages.admin.post(path, {"text": "maybe", "expects": "confirm"})
    assert status == 200
    assert "As a reply to a reminder expecting confirm." in page
    assert "The draft changes what happens to this message." in page
    verdicts = page[page.index('id="trial"') : page.index("On the messages received")]
    in_force, draft = verdicts.split("This draft")
    assert "A person decides" in in_force
    assert "confirm (automatic), answering the reminder" in draft
    # Both versions confirm "yes", but not as a reply to a reminder that asked only whether to
    # cancel: the same for both, and the reason says why.
    status, page, _ = await pages.admin.post(path, {"text": "yes", "expects": "cancel"})
    assert status == 200
    assert "The draft does the same as the version in force." in page
    assert page.count("not one of the answers this reminder asked for") == 2
    assert "(automatic), answering the reminder" not in page
    # Without a reminder, the text alone, as before.
    status, page, _ = await pages.admin.post(path, {"text": "yes"})
    assert "As a reply to a reminder" not in page
    assert page.count("confirm (automatic)") == 2


@pytest.mark.parametrize("expects", ["opt_out", "manual", "bogus"])
async def test_a_reminder_the_page_never_offers_is_refused(pages: Pages, expects: str) -> None:
    path = f"{RULES}/drafts/{pages.draft}/preview?days=7"
    await pages.admin.get(path)
    status, page, _ = await pages.admin.post(path, {"text": "yes", "expects": expects})
    assert status == 400
    assert "The form was not sent as the page sends it" in page
    assert "is not one of the actions the page offers" in page


async def test_versions_of_a_service_moved_back_to_files_are_history(pages: Pages) -> None:
    await pages.managed.publish(SERVICE, pages.draft, "maybe means yes", Actor("tests"))
    await pages.managed.move_to_files(SERVICE, None, "back to the file", Actor("tests"))
    status, page, _ = await pages.admin.get(f"{RULES}/versions")
    assert status == 200
    assert "were moved back to a rule file, which is in force" in page
    assert "In force" not in page
    _, page, _ = await pages.admin.get(f"{RULES}/versions/1")
    assert "Roll back to this version" not in page
    _, page, _ = await pages.admin.get(f"{RULES}/versions/diff")
    assert "(in force)" not in page
    status, page, _ = await pages.admin.post(f"{RULES}/versions/1/rollback", {"reason": "undo"})
    assert status == 409
    assert "These rules are managed in files now." in page
    assert [v.number for v in await pages.managed.versions(SERVICE)] == [2, 1]


async def test_a_draft_of_a_service_moved_back_to_files_cannot_be_published(pages: Pages) -> None:
    await pages.managed.move_to_files(SERVICE, None, "back to the file", Actor("tests"))
    path = f"{RULES}/drafts/{pages.draft}/publish"
    status, page, _ = await pages.admin.get(path)
    assert status == 200
    assert "are managed in files now, so this draft can’t be published" in page
    assert "Publish version" not in page
    status, page, _ = await pages.admin.post(path, {"reason": "maybe means yes"})
    assert status == 409
    assert "managed in files" in page
