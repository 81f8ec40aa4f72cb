"""Previewing, publishing, the versions and rolling back rules in Chromium (issue 18), each page
at 1280, 375 and 320 px: a draft edited with the rule form shows in its preview what changes for
a stored reply, and once published a separate worker process decides with it within 2 s; two
admins publishing from the same version: the second meets the conflict page and keeps their
draft; a rollback from the versions page is a new version with the old rules, audited."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from inbound.config import Settings
from inbound.managed_rules import Actor, ManagedRules
from inbound.store.database import create_engine, session_factory
from inbound.store.users import Audit
from tests.integration import conftest as integration
from tests.integration.conftest import Stack, running_stack
from tests.integration.lifecycle_support import Inbound, post_generic, start_inbound
from tests.integration.test_rules_managed_processes import WITHIN, _decisions, _reloaded
from tests.support.browser import Person, add_item, add_person
from tests.support.managed_rules import (
    APPOINTMENTS,
    WITH_MAYBE,
    WITH_PERHAPS,
    appointments_in_inbound,
    process_env,
)
from tests.support.pages import checked_at_widths, signed_in_page
from tests.support.waiting import eventually

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# The `env` fixture of tests/integration (the environment of `inbound` processes), here too.
env = integration.env

SERVICE = "appointments"
NUMBER = "+447700900000"  # appointments' number in the example
RULES = f"/review/services/{SERVICE}/rules"


async def checked(page: Page, name: str) -> None:
    await checked_at_widths(page, f"rules-{name}")


async def test_a_draft_edited_previewed_and_published_is_in_force_in_another_worker(
    env: dict[str, str], database_url: str, tmp_path: Path, browser: Browser
) -> None:
    folder = await appointments_in_inbound(database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        admin = await add_person(sessions, "admin@surgery.example", {SERVICE: "service_admin"})
        # A reply stored a day ago, which the version in force sent to review.
        await add_item(sessions, SERVICE, "maybe", recipient=NUMBER, age=timedelta(days=1))
    finally:
        await engine.dispose()
    base = process_env(env, database_url, folder, INBOUND_COOKIE_SECURE="false")
    serve = await start_inbound(env, "serve", tmp_path / "serve")
    worker = await start_inbound(env, "worker", tmp_path / "worker")
    processes: list[Inbound] = [serve, worker]
    try:
        await serve.says("listening on")
        await worker.says("rules worker consuming")
        page = await signed_in_page(browser, base, admin)

        # Edit: a draft of version 1 from the rules page, "maybe" added to confirm's keywords.
        await page.goto(base + RULES)
        await page.get_by_role("button", name="Edit rules").click()
        await page.wait_for_url(f"**{RULES}/drafts/*")
        draft = int(page.url.split("?")[0].rsplit("/", 1)[1])
        await page.get_by_role("link", name="Change rule confirm").first.click()
        keywords = page.get_by_label("Keywords")
        await keywords.fill(await keywords.input_value() + "\nmaybe")
        await page.get_by_role("button", name="Save rule").click()
        await page.get_by_role("heading", name=f"Draft {draft} of the rules").wait_for()
        stored = await _draft_yaml(database_url, folder, draft)
        assert "maybe" in stored
        assert "# " in stored  # the file's comments kept
        # Preview, from the draft page's own link.
        await page.get_by_role("link", name="Preview the draft on recent messages").click()
        await page.get_by_role("heading", name=f"Preview draft {draft}").wait_for()
        row = page.get_by_role("row").filter(has_text="maybe")
        assert "Sent to review" in await row.inner_text()
        assert "confirm (automatic)" in await row.inner_text()
        assert "+44********23" in await row.inner_text()  # the sender masked
        assert "+447700900123" not in await page.content()
        counts = await page.locator(".replay-counts").first.inner_text()
        assert "Sent to review before, handled automatically now\t1" in counts, counts
        await page.get_by_label("Message text").fill("Maybe")
        await page.get_by_role("button", name="Compare with the version in force").click()
        await page.get_by_text("The draft changes what happens to this message.").wait_for()
        await checked(page, "preview")
        # The same text as a reply to a reminder that asked to confirm: the draft answers it.
        await page.get_by_label("confirm", exact=True).check()
        await page.get_by_role("button", name="Compare with the version in force").click()
        await page.get_by_text("As a reply to a reminder expecting confirm.").wait_for()
        verdicts = await page.locator("#trial").inner_text()
        assert "confirm (automatic), answering the reminder" in verdicts, verdicts
        assert await page.get_by_label("confirm", exact=True).is_checked()  # kept ticked
        await checked(page, "preview-reminder")
        # Bad days: the error summary, not a failure.
        await page.get_by_label("Days back").fill("400")
        await page.get_by_role("button", name="Replay").click()
        summary = page.locator(".govuk-error-summary")
        await summary.wait_for()
        assert "Enter a number of days from 1 to 90" in await summary.inner_text()
        await checked(page, "preview-error")

        await page.goto(f"{base}{RULES}/drafts/{draft}/preview")
        await page.get_by_role("button", name=f"Publish draft {draft}").click()
        await page.get_by_role("heading", name=f"Publish draft {draft}").wait_for()
        await page.get_by_role("button", name="Publish version 2").click()
        await summary.wait_for()  # no reason given
        assert "Enter why you are publishing these rules" in await summary.inner_text()
        await checked(page, "publish-error")
        await page.get_by_label("Why are you publishing this?").fill("maybe means yes")
        published = time.monotonic()  # from the click: the page's round trip counts too
        await page.get_by_role("button", name="Publish version 2").click()
        await page.get_by_text("Published: version 2 is in force").wait_for()
        [delay] = await _reloaded([worker], published)
        assert delay <= WITHIN, delay
        await checked(page, "published")
        ids = [f"pub-{uuid.uuid4().hex[:10]}"]
        payload = {"id": ids[0], "from": "07700 900123", "to": NUMBER, "text": "maybe"}
        assert await post_generic(base, payload) == 202
        decided = await eventually(
            lambda: _decisions(database_url, ids), lambda found: len(found) == 1
        )
        assert decided == {ids[0]: f"{SERVICE}:confirm"}

        # Decided by the worker process (serve runs no rules worker).
        async def in_worker_log() -> bool:
            return ids[0] in worker.logged()

        assert await eventually(in_worker_log, bool, within=5)
        assert "message_processed" not in serve.logged()
    finally:
        for process in processes:
            if process.process.returncode is None:
                await process.terminate()


async def _draft_yaml(database_url: str, folder: Path, draft: int) -> str:
    engine = create_engine(database_url)
    try:
        found = await ManagedRules(session_factory(engine), folder).draft_of(SERVICE, draft)
    finally:
        await engine.dispose()
    return found.draft.yaml


@dataclass
class Managed:
    stack: Stack
    managed: ManagedRules
    admin: Person
    other_admin: Person


@pytest.fixture
async def managed(settings: Settings, tmp_path: Path) -> AsyncIterator[Managed]:
    """inbound in this process with appointments managed in inbound (version 1), two admins."""
    folder = await appointments_in_inbound(settings.database_url, tmp_path)
    changed = settings.model_copy(update={"rules_dir": folder, "cookie_secure": False})
    async with running_stack(changed) as stack:
        roles = {SERVICE: "service_admin"}
        yield Managed(
            stack,
            ManagedRules(stack.sessions, folder),
            await add_person(stack.sessions, "ana@surgery.example", roles),
            await add_person(stack.sessions, "bo.longer-name@surgery-council.example", roles),
        )


async def test_the_second_admin_to_publish_meets_a_conflict_and_keeps_their_draft(
    managed: Managed, browser: Browser
) -> None:
    base = managed.stack.base_url
    first = (await managed.managed.draft(SERVICE, WITH_MAYBE, Actor(managed.admin.email))).draft
    second = await managed.managed.draft(SERVICE, WITH_PERHAPS, Actor(managed.other_admin.email))
    ana = await signed_in_page(browser, base, managed.admin)
    bo = await signed_in_page(browser, base, managed.other_admin)
    await bo.goto(f"{base}{RULES}/drafts/{second.draft.id}/publish")
    await checked(bo, "publish")

    await ana.goto(f"{base}{RULES}/drafts/{first.id}/publish")
    await ana.get_by_label("Why are you publishing this?").fill("maybe means yes")
    await ana.get_by_role("button", name="Publish version 2").click()
    await ana.get_by_text("Published: version 2 is in force").wait_for()

    await bo.get_by_label("Why are you publishing this?").fill("perhaps means yes")
    await bo.get_by_role("button", name="Publish version 2").click()
    heading = "Someone published a new version while you were editing"
    await bo.get_by_role("heading", name=heading).wait_for()
    said = await bo.locator("main").inner_text()
    assert "ana@surgery.example published version 2" in said
    assert "“maybe means yes”" in said
    assert f"Nothing is lost: draft {second.draft.id} is kept" in said
    await checked(bo, "conflict")
    # The draft is still there, unchanged; nothing was published.
    kept = await managed.managed.draft_of(SERVICE, second.draft.id)
    assert kept.draft.yaml == WITH_PERHAPS
    assert (await managed.managed.in_force(SERVICE)).yaml == WITH_MAYBE
    await bo.get_by_text(f"Your draft {second.draft.id}’s rules").click()
    assert "perhaps" in await bo.locator("pre.yaml-view").inner_text()
    # A new draft from the version in force, opened in the editor.
    await bo.get_by_role("button", name="Start a new draft from version 2").click()
    await bo.wait_for_url(f"**{RULES}/drafts/*")
    new_id = int(bo.url.rsplit("/", 1)[1])
    assert new_id not in (first.id, second.draft.id)
    started = await managed.managed.draft_of(SERVICE, new_id)
    assert (started.draft.yaml, started.draft.based_on) == (WITH_MAYBE, 2)
    # The kept draft's publish page warns before anyone tries it again.
    await bo.goto(f"{base}{RULES}/drafts/{second.draft.id}/publish")
    warning = await bo.locator(".govuk-warning-text").inner_text()
    assert "version 2 has been published since" in warning


async def test_rolling_back_from_the_versions_page_is_a_new_version_audited(
    managed: Managed, browser: Browser
) -> None:
    base = managed.stack.base_url
    drafted = await managed.managed.draft(SERVICE, WITH_MAYBE, Actor(managed.admin.email))
    await managed.managed.publish(
        SERVICE, drafted.draft.id, "maybe means yes", Actor(managed.admin.email)
    )
    page = await signed_in_page(browser, base, managed.admin)
    await page.goto(f"{base}{RULES}/versions")
    await page.get_by_role("heading", name="Versions of the rules").wait_for()
    rows = await page.get_by_role("row").all_inner_texts()
    assert "Version 2 In force" in rows[1]
    assert "maybe means yes" in rows[1]
    assert "Version 1" in rows[2]
    assert "first import" in rows[2]
    await checked(page, "versions")
    await page.get_by_role("button", name="Compare").click()
    await page.get_by_role("heading", name="From version 1 to version 2").wait_for()
    diff = await page.locator("table.diff").inner_text()
    assert "Removed\n" in diff
    assert "Added\n" in diff
    assert "maybe" in diff
    await checked(page, "diff")

    await page.goto(f"{base}{RULES}/versions")
    await page.get_by_role("link", name="Version 1", exact=True).click()
    await page.get_by_role("heading", name="Version 1").wait_for()
    await checked(page, "version")
    await page.get_by_text("Version 1 as YAML").click()
    assert "i will be there, maybe" not in await page.locator("pre.yaml-view").inner_text()
    assert "i will be there," in await page.locator("pre.yaml-view").inner_text()
    await page.get_by_role("button", name="Roll back to this version").click()
    await page.get_by_role("heading", name="Roll back to version 1?").wait_for()
    await page.get_by_role("button", name="Roll back to version 1").click()
    await page.locator(".govuk-error-summary").wait_for()
    await checked(page, "rollback-error")
    await page.get_by_label("Why are you rolling back?").fill("maybe was too loose")
    await page.get_by_role("button", name="Roll back to version 1").click()
    await page.get_by_text(
        "Rolled back: version 3 is in force, with the rules of version 1."
    ).wait_for()
    await checked(page, "rolled-back")

    version = await managed.managed.version(SERVICE, 3)
    assert (version.yaml, version.reason, version.author) == (
        APPOINTMENTS,
        "maybe was too loose",
        managed.admin.email,
    )
    async with managed.stack.sessions() as session:
        [event] = await Audit(session).events("rules_rolled_back")
    assert event.subject == "rules version 3"
    assert event.user_id is not None
    assert "to version 1, from version 2: maybe was too loose" in (event.detail or "")


async def test_only_the_services_admins_see_the_pages(managed: Managed, browser: Browser) -> None:
    base = managed.stack.base_url
    caseworker = await add_person(
        managed.stack.sessions, "cw@surgery.example", {SERVICE: "caseworker"}
    )
    page = await signed_in_page(browser, base, caseworker)
    for path in ("/versions", "/versions/1", "/versions/diff", "/versions/1/rollback"):
        response = await page.goto(base + RULES + path)
        assert response is not None, path
        assert response.status == 404, path
    async with managed.stack.sessions() as session:
        denied = await Audit(session).events("denied")
    assert len([e for e in denied if e.service_id == SERVICE]) == 4


async def test_a_service_managed_in_files_has_no_versions(
    managed: Managed, browser: Browser
) -> None:
    base = managed.stack.base_url
    roles = {"street-reports": "service_admin"}
    admin = await add_person(managed.stack.sessions, "sam@streets.example", roles)
    page = await signed_in_page(browser, base, admin)
    await page.goto(base + "/review/services/street-reports/rules/versions")
    said = await page.locator(".govuk-inset-text").inner_text()
    assert "managed in files" in said
    assert "inbound rules import FILE" in said
    await checked(page, "versions-files")
