"""The rule editor in Chromium (issue 18): a service admin starts a draft from the rules page,
adds a rule with a named reference format, changes its keywords, moves it, removes another,
meets the error for a name used twice, and the draft's YAML then holds the changes with the
file's comments kept; a caseworker gets the 404; a service managed in files says so, with no
Edit button. Each page at 1280 and 375 px: screenshots in tests/artifacts/rules-editor-*.png,
no axe-core violation, nothing wider than the window."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from inbound.config import Settings
from inbound.managed_rules import Actor, ManagedRules
from inbound.store.database import create_engine, session_factory
from tests.conftest import EXAMPLE_RULES
from tests.integration.conftest import Stack, running_stack
from tests.support.browser import Person, add_person
from tests.support.managed_rules import APPOINTMENTS, appointments_in_inbound
from tests.support.pages import checked_at_widths, signed_in_page

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SERVICE = "appointments"  # imported into inbound; street-reports stays in files
RULES = f"/review/services/{SERVICE}/rules"


@dataclass
class Editor:
    stack: Stack
    managed: ManagedRules
    admin: Person


@pytest.fixture
async def editor(settings: Settings, tmp_path: Path) -> AsyncIterator[Editor]:
    folder = await appointments_in_inbound(settings.database_url, tmp_path)
    changed = {"rules_dir": folder, "cookie_secure": False}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        admin = await add_person(
            stack.sessions, "admin@surgery.example", {SERVICE: "service_admin"}
        )
        yield Editor(stack, ManagedRules(stack.sessions, folder), admin)


async def checked(page: Page, name: str) -> None:
    await checked_at_widths(page, f"rules-editor-{name}", (1280, 375))


async def banner(page: Page) -> str:
    found = page.locator(".govuk-notification-banner--success")
    await found.wait_for()
    return await found.inner_text()


async def rule_names(page: Page) -> list[str]:
    cells = page.locator(".rules-table tbody tr td:first-child")
    return [text.split(". ", 1)[1] for text in await cells.all_inner_texts()]


async def test_a_service_admin_edits_a_draft_with_forms(editor: Editor, browser: Browser) -> None:
    base = editor.stack.base_url
    page = await signed_in_page(browser, base, editor.admin)
    await page.goto(base + RULES)
    assert "Managed in inbound — version 1" in await page.locator("#rules-kept").inner_text()
    await checked(page, "rules-managed")
    await page.get_by_role("button", name="Edit rules").click()
    await page.get_by_role("heading", name=re.compile(r"^Draft \d+ of the rules$")).wait_for()
    draft = int(page.url.rsplit("/drafts/", 1)[1].split("?")[0])
    assert "Draft started" in await banner(page)
    assert "from version 1" in await page.locator("main").inner_text()
    before = await rule_names(page)
    assert before[:3] == ["confirm", "cancel", "change"]
    await checked(page, "draft")
    # The rules page lists the draft, so an admin can come back to it.
    await page.goto(base + RULES)
    drafts = page.get_by_role("list", name="Drafts of version 1")
    assert "started by admin@surgery.example" in await drafts.inner_text()
    await checked(page, "rules-with-draft")
    await drafts.get_by_role("link", name=f"Draft {draft}").click()
    await page.get_by_role("heading", name=f"Draft {draft} of the rules").wait_for()

    # Add a rule capturing a six-digit booking number: no regular expression needed.
    await page.get_by_role("link", name="Add a rule").click()
    await page.get_by_role("heading", name="Add a rule").wait_for()
    await checked(page, "add")
    await page.get_by_label("Name").fill("booking")
    await page.get_by_label("Keywords").fill("booking\nmy booking")
    await page.get_by_label("The reply starts with the keyword").check()
    await page.get_by_label("Ask to change").check()
    await page.get_by_label("A reference in a standard format").check()
    await page.get_by_label("Format", exact=True).select_option("digits")
    await page.get_by_label("Number of digits").fill("6")
    await page.get_by_role("checkbox", name="The reference").check()
    await page.get_by_label("Automatic reply (optional)").fill("Thanks: booking {reference}.")
    await page.get_by_role("button", name="Save rule").click()
    assert "Rule ‘booking’ added." in await banner(page)
    assert await rule_names(page) == [*before, "booking"]

    # A name used twice: the whole draft's error, on the name field; nothing saved.
    await page.get_by_role("link", name="Add a rule").click()
    await page.get_by_label("Name").fill("confirm")
    await page.get_by_label("Keywords").fill("yes")
    await page.get_by_label("Confirm", exact=True).check()
    await page.get_by_role("button", name="Save rule").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    link = summary.get_by_role("link", name="Rule name 'confirm' is used twice")
    assert await link.get_attribute("href") == "#name"
    name_error = await page.locator("#name-error").inner_text()
    assert "Rule name 'confirm' is used twice" in name_error
    assert await page.get_by_label("Keywords").input_value() == "yes"  # as typed
    await checked(page, "add-error")
    await link.click()
    assert await page.evaluate("() => document.activeElement.id") == "name"
    assert "sure" not in (await editor.managed.draft_of(SERVICE, draft)).draft.yaml
    # Another name saves it; the check's warning says the rule is never picked, and why.
    await page.get_by_label("Name").fill("sure")
    await page.get_by_role("button", name="Save rule").click()
    assert "Rule ‘sure’ added." in await banner(page)
    warnings = await page.locator(".govuk-warning-text").inner_text()
    assert "Rule 7, ‘sure’: rule 'sure' is unreachable" in warnings, warnings
    assert "a reply such as 'yes' is decided by rule 'confirm'" in warnings
    await checked(page, "draft-warnings")

    # Change its keywords: the form comes filled in with the rule as it is.
    await page.goto(f"{base}{RULES}/drafts/{draft}")
    await page.get_by_role("link", name="Change rule booking").first.click()
    keywords = page.get_by_label("Keywords")
    assert await keywords.input_value() == "booking\nmy booking"
    assert await page.get_by_label("Number of digits").input_value() == "6"
    await checked(page, "change")
    await keywords.fill("booking\nbooking number")
    await page.get_by_role("button", name="Save rule").click()
    assert "Rule ‘booking’ changed." in await banner(page)

    # Move it up one, and remove the "change" rule.
    await page.get_by_role("button", name="Move up rule booking").first.click()
    assert "Rule ‘booking’ moved." in await banner(page)
    assert await rule_names(page) == [*before[:-1], "booking", before[-1], "sure"]
    await page.get_by_role("button", name="Remove rule sure").first.click()
    assert "Rule removed." in await banner(page)
    assert await page.locator(".govuk-warning-text").count() == 0
    await page.get_by_role("button", name="Remove rule change").first.click()
    assert "Rule removed." in await banner(page)
    assert await rule_names(page) == ["confirm", "cancel", "report", "booking", "stop"]

    # The draft's YAML holds it all, the file's comments kept.
    yaml = (await editor.managed.draft_of(SERVICE, draft)).draft.yaml
    assert "name: booking" in yaml
    assert "keywords: [booking, booking number]" in yaml
    assert "reference:\n        digits: 6" in yaml or "reference: {digits: 6}" in yaml
    assert "name: change" not in yaml
    assert "# Rules, in order. When several rules match" in yaml
    assert "# 👍 on its own confirms here" in yaml
    assert yaml.index("name: booking") < yaml.index(f"name: {before[-1]}")

    # The YAML page: errors with line and field, nothing saved, the text kept.
    await page.get_by_role("link", name="Edit the YAML").click()
    await page.get_by_role("heading", name="Edit the YAML").wait_for()
    assert await page.get_by_label("The draft's rules, as YAML").input_value() == yaml
    await checked(page, "yaml")
    broken = yaml.replace("action: confirm", "action: confrim", 1)
    await page.get_by_label("The draft's rules, as YAML").fill(broken)
    await page.get_by_role("button", name="Save the YAML").click()
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    said = await summary.inner_text()
    for words in ("Line ", "rules[0].action", "'confrim' is not a known action"):
        assert words in said, said
    assert await page.get_by_label("The draft's rules, as YAML").input_value() == broken
    await checked(page, "yaml-error")
    assert (await editor.managed.draft_of(SERVICE, draft)).draft.yaml == yaml


async def test_a_bilingual_service_is_edited_language_by_language(
    settings: Settings, tmp_path: Path, browser: Browser
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    text = (EXAMPLE_RULES / "bins-bilingual.yaml").read_text(encoding="utf-8")
    engine = create_engine(settings.database_url)
    try:
        managed = ManagedRules(session_factory(engine), folder)
        await managed.import_rules(text, "first import", Actor("tests"))
        admin = await add_person(
            session_factory(engine), "lead@bins.example", {"bins": "service_admin"}
        )
        draft = (await managed.draft("bins", text, Actor(admin.email))).draft.id
    finally:
        await engine.dispose()
    changed = {"rules_dir": folder, "cookie_secure": False}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        page = await signed_in_page(browser, stack.base_url, admin)
        url = f"{stack.base_url}/review/services/bins/rules/drafts/{draft}"
        await page.goto(url)
        assert "Welsh (cy): ie, ydw" in await page.locator(".rules-table").inner_text()
        await checked(page, "bilingual-draft")
        await page.goto(url + "/rules/1")
        welsh = page.get_by_label("Keywords in Welsh (cy)")
        assert (await welsh.input_value()).startswith("ie\nydw")
        await page.get_by_label("Automatic reply in Welsh (cy) (optional)").fill(
            "Diolch {reference}"
        )
        await page.get_by_role("button", name="Save rule").click()
        await page.locator("#reply-cy-error").wait_for()
        assert "never captures" in await page.locator("#reply-cy-error").inner_text()
        await checked(page, "bilingual-error")
        await welsh.fill("ie\nydw\nie plis")
        await page.get_by_label("Automatic reply in Welsh (cy) (optional)").fill("Diolch.")
        await page.get_by_role("button", name="Save rule").click()
        assert "Rule ‘confirm’ changed." in await banner(page)
        yaml = (await ManagedRules(stack.sessions, folder).draft_of("bins", draft)).draft.yaml
        assert "cy: [ie, ydw, ie plis]" in yaml
        assert "# The Welsh: ie / na are the short yes and no" in yaml


async def test_only_the_service_s_admins_reach_the_editor(editor: Editor, browser: Browser) -> None:
    base = editor.stack.base_url
    drafted = await editor.managed.draft(SERVICE, APPOINTMENTS, Actor(editor.admin.email))
    draft = f"{RULES}/drafts/{drafted.draft.id}"
    caseworker = await add_person(
        editor.stack.sessions, "ana@surgery.example", {SERVICE: "caseworker"}
    )
    page = await signed_in_page(browser, base, caseworker)
    for path in (RULES, draft, draft + "/rules/new", draft + "/rules/1", draft + "/yaml"):
        response = await page.goto(base + path)
        assert response is not None
        assert response.status == 404, path
    # A form posted anyway (the page's own token) changes nothing.
    await page.goto(base + "/review/")
    token = await page.locator("input[name=csrf_token]").first.input_value()
    answer = await page.request.post(
        base + draft + "/rules/1/remove", form={"csrf_token": token, "was": "confirm"}
    )
    assert answer.status == 404
    assert (await editor.managed.draft_of(SERVICE, drafted.draft.id)).draft.yaml == APPOINTMENTS


async def test_a_service_in_files_is_read_only(editor: Editor, browser: Browser) -> None:
    base = editor.stack.base_url
    admin = await add_person(
        editor.stack.sessions, "sam@streets.example", {"street-reports": "service_admin"}
    )
    page = await signed_in_page(browser, base, admin)
    await page.goto(base + "/review/services/street-reports/rules")
    kept = await page.locator("#rules-kept").inner_text()
    assert "Managed in files" in kept
    assert "inbound rules import FILE" in kept
    assert await page.get_by_role("button", name="Edit rules").count() == 0
    await checked(page, "rules-files")


async def test_a_draft_behind_the_version_in_force_says_so(
    editor: Editor, browser: Browser
) -> None:
    base = editor.stack.base_url
    actor = Actor(editor.admin.email)
    behind = await editor.managed.draft(SERVICE, APPOINTMENTS, actor)
    changed = APPOINTMENTS.replace("i will be there,", "i will be there, maybe,")
    other = await editor.managed.draft(SERVICE, changed, actor)
    await editor.managed.publish(SERVICE, other.draft.id, "maybe confirms", actor)
    page = await signed_in_page(browser, base, editor.admin)
    await page.goto(f"{base}{RULES}/drafts/{behind.draft.id}")
    said = await page.locator("#draft-behind").inner_text()
    assert "Version 2 was published since this draft began" in said
    await checked(page, "draft-behind")
    await page.get_by_role("button", name="Start a new draft from version 2").click()
    await page.get_by_role("heading", name=re.compile(r"^Draft \d+ of the rules$")).wait_for()
    assert f"/drafts/{behind.draft.id}" not in page.url
    assert "from version 2" in await page.locator("main").inner_text()
    assert await page.locator("#draft-behind").count() == 0


async def test_a_save_over_a_draft_changed_meanwhile_is_refused_and_keeps_what_was_typed(
    editor: Editor, browser: Browser
) -> None:
    """Two tabs on one draft: the tab opened before the other saved can't overwrite that save,
    and what it had typed stays on its page."""
    base = editor.stack.base_url
    drafted = await editor.managed.draft(SERVICE, APPOINTMENTS, Actor(editor.admin.email))
    url = f"{base}{RULES}/drafts/{drafted.draft.id}"
    first = await signed_in_page(browser, base, editor.admin)
    second = await first.context.new_page()
    await first.goto(url + "/yaml")
    await second.goto(url + "/rules/1")
    keywords = second.get_by_label("Keywords")
    await keywords.fill(await keywords.input_value() + "\nsure thing")
    await second.get_by_role("button", name="Save rule").click()
    await banner(second)

    typed = APPOINTMENTS.replace("yeah,", "yeah, righto,")
    await first.get_by_label("The draft's rules, as YAML").fill(typed)
    await first.get_by_role("button", name="Save the YAML").click()
    summary = first.locator(".govuk-error-summary")
    await summary.wait_for()
    assert "Someone saved this draft since you opened this page" in await summary.inner_text()
    assert await first.get_by_label("The draft's rules, as YAML").input_value() == typed
    await checked(first, "yaml-changed-meanwhile")
    stored = (await editor.managed.draft_of(SERVICE, drafted.draft.id)).draft.yaml
    assert "sure thing" in stored  # the other tab's save stands
    assert "righto" not in stored

    # The rule form, opened before the YAML changed, keeps its fields and saves nothing either.
    await second.goto(url + "/rules/1")
    await editor.managed.change_draft(
        SERVICE, drafted.draft.id, stored.replace("sure thing", "of course"), was=stored
    )
    await second.get_by_label("Keywords").fill("yes\nyep")
    await second.get_by_role("button", name="Save rule").click()
    await second.locator(".govuk-error-summary").wait_for()
    assert await second.get_by_label("Keywords").input_value() == "yes\nyep"
    assert "of course" in (await editor.managed.draft_of(SERVICE, drafted.draft.id)).draft.yaml
