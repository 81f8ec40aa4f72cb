"""Every review page in Debian's Chromium at a desktop's width and a phone's (1280, 375 and 320
px): axe-core finds no violation at all (minor ones included), and nothing is wider than the
window, so no one scrolls sideways (issue 16)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import func, select

from inbound.managed_rules import Actor, ManagedRules
from inbound.store.models import OptOut
from inbound.store.users import Users
from tests.integration.conftest import Stack
from tests.support.browser import ARTIFACTS, AXE, PASSWORD, Person, add_item, add_person
from tests.support.conversations import seed_conversation

NUMBER = "+447700900001"  # alpha's number
WIDTHS = [1280, 375, 320]

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Visit = Callable[[Page], Awaitable[None]]


async def axe_violations(page: Page) -> list[str]:
    """Every axe-core violation on the page, whatever its impact, one line each."""
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        "async () => (await axe.run(document)).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found
    ]


# Parts of the page that scroll sideways inside themselves (a wide table in a scrolling box):
# the page fits, but what they hold is cut off at the window's edge all the same.
INNER_SCROLLERS = """
() => [...document.querySelectorAll("body *")]
  .filter(e => e.scrollWidth > e.clientWidth + 1
            && ["auto", "scroll"].includes(getComputedStyle(e).overflowX))
  .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`
            + ` (${e.scrollWidth} px in ${e.clientWidth})`)
"""


async def overflow(page: Page) -> list[str]:
    """What makes anyone scroll sideways: the page wider than its window, or a part of it
    scrolling inside itself."""
    scroll, inner = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    wide = [] if scroll <= inner else [f"the page is {scroll} px wide in a {inner} px window"]
    inside: list[str] = await page.evaluate(INNER_SCROLLERS)
    return wide + [f"{part} scrolls sideways" for part in inside]


# What a screen reader user finds their way by: one h1, a main with the skip link's target, the
# skip link first in the Tab order, and the header and footer as landmarks.
STRUCTURE = """
() => {
  const found = [];
  const h1s = document.querySelectorAll("h1").length;
  if (h1s !== 1) found.push(`${h1s} h1 elements`);
  const mains = document.querySelectorAll("main");
  if (mains.length !== 1 || mains[0].id !== "main-content") found.push("no one main#main-content");
  const first = document.querySelector("a[href], button, input, select, textarea");
  if (!first || first.getAttribute("href") !== "#main-content") found.push("no skip link first");
  if (document.querySelectorAll("body > header.govuk-header").length !== 1) found.push("no header");
  if (document.querySelectorAll("body > footer.govuk-footer").length !== 1) found.push("no footer");
  return found;
}
"""


async def check(page: Page, name: str, visit: Visit) -> list[str]:
    """The page at each width: its screenshot kept, and what axe and the width check found."""
    problems = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await visit(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(
            path=str(ARTIFACTS / f"every-page-{name}-{width}.png"), full_page=True
        )
        problems += [f"{name} at {width} px: {v}" for v in await axe_violations(page)]
        problems += [f"{name} at {width} px: {wide}" for wide in await overflow(page)]
        problems += [f"{name} at {width} px: {gap}" for gap in await page.evaluate(STRUCTURE)]
    return problems


def goto(stack: Stack, path: str, status: int = 200) -> Visit:
    async def visit(page: Page) -> None:
        response = await page.goto(stack.base_url + path)
        assert response is not None, path
        assert response.status == status, (path, response.status)

    return visit


def submit_with_stale_form(stack: Stack, path: str, action: str) -> Visit:
    """Open `path` and send its form to `action` with a CSRF token that isn't the page's: the
    403 page."""

    async def visit(page: Page) -> None:
        await page.goto(stack.base_url + path)
        await page.evaluate(
            "() => document.querySelectorAll('[name=csrf_token]').forEach(f => f.value = 'x')"
        )
        form = page.locator(f"form[action='{action}']")
        async with page.expect_navigation() as answer:
            await form.evaluate("form => form.submit()")  # without the browser's own checks
        response = await answer.value
        assert response is not None
        assert response.status == 403, response.status

    return visit


async def password_step(page: Page, stack: Stack, person: Person, password: str = PASSWORD) -> None:
    await page.goto(stack.base_url + "/review/sign-in")
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_load_state()


async def new_page(browser: Browser) -> Page:
    # axe is injected as a script, which the CSP rightly forbids: only these contexts bypass it.
    context = await browser.new_context(bypass_csp=True)
    return await context.new_page()


async def test_every_page_before_sign_in_passes_axe_and_fits_a_phone(
    stack: Stack, browser: Browser
) -> None:
    enrolled = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    newcomer = await add_person(
        stack.sessions, "new@alpha.example", {"alpha": "caseworker"}, enrolled=False
    )
    page = await new_page(browser)
    problems = await check(page, "sign-in", goto(stack, "/review/sign-in"))

    async def wrong_password(page: Page) -> None:
        await password_step(page, stack, enrolled, "not the password")
        await page.get_by_role("alert").wait_for()

    problems += await check(page, "sign-in-error", wrong_password)
    problems += await check(
        page, "form-expired", submit_with_stale_form(stack, "/review/sign-in", "/review/sign-in")
    )

    two_factor = await new_page(browser)
    await password_step(two_factor, stack, enrolled)
    problems += await check(two_factor, "two-factor", goto(stack, "/review/two-factor"))

    async def wrong_code(page: Page) -> None:
        await page.goto(stack.base_url + "/review/two-factor")
        await page.get_by_label("6-digit code").fill("000000")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("alert").wait_for()

    problems += await check(two_factor, "two-factor-error", wrong_code)

    enrol = await new_page(browser)
    await password_step(enrol, stack, newcomer)
    problems += await check(enrol, "enrol", goto(stack, "/review/enrol"))
    assert problems == [], "\n".join(problems)


async def signed_in_page(browser: Browser, stack: Stack, person: Person) -> Page:
    page = await new_page(browser)
    await password_step(page, stack, person)
    assert person.totp_secret is not None
    await page.get_by_label("6-digit code").fill(pyotp.TOTP(person.totp_secret).now())
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Review queue").wait_for()
    return page


async def claim(stack: Stack, person: Person, item: int) -> None:
    headers = {"Authorization": f"Bearer {person.token}"}
    async with aiohttp.ClientSession() as http:
        url = f"{stack.base_url}/api/items/{item}/claim"
        async with http.post(url, headers=headers) as answer:
            assert answer.status == 200, await answer.text()


async def test_every_page_after_sign_in_passes_axe_and_fits_a_phone(
    stack: Stack, browser: Browser
) -> None:
    admin = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    page = await signed_in_page(browser, stack, admin)
    problems = await check(page, "queue-empty", goto(stack, "/review/"))

    await add_item(stack.sessions, "alpha", "yes but can I change the time?")
    claimed = await add_item(stack.sessions, "alpha", "who is this?", sender="+447700900555")
    await claim(stack, admin, claimed)
    await add_item(stack.sessions, "alpha", "https://example.org/" + "a" * 300)
    problems += await check(page, "queue", goto(stack, "/review/"))
    problems += await check(
        page, "queue-filtered", goto(stack, "/review/?state=claimed&q=who&received_from=2026-01-01")
    )
    problems += await check(page, "rules", goto(stack, "/review/services/alpha/rules"))

    async def tested(page: Page) -> None:
        await page.goto(stack.base_url + "/review/services/alpha/rules")
        await page.get_by_label("Message text").fill("yes please")
        await page.get_by_role("button", name="What would the rules do?").click()
        await page.locator("#verdict").wait_for()

    problems += await check(page, "rules-tested", tested)
    problems += await check(page, "undelivered", goto(stack, "/review/undelivered"))
    problems += await check(page, "not-found", goto(stack, "/review/items/999999", 404))
    problems += await check(page, "bad-request", goto(stack, "/review/?after=nonsense", 400))
    problems += await check(
        page,
        "form-expired-signed-in",
        submit_with_stale_form(stack, "/review/", "/review/sign-out"),
    )

    # A platform admin: the unassigned bucket beside alpha, each item naming its service.
    await add_item(stack.sessions, None, "wrong number?", recipient="+447700900999")
    platform = await add_person(
        stack.sessions, "ops@example.org", {"alpha": "caseworker"}, platform_admin=True
    )
    ops = await signed_in_page(browser, stack, platform)
    problems += await check(ops, "queue-platform-admin", goto(stack, "/review/"))
    assert problems == [], "\n".join(problems)


async def test_the_item_page_passes_axe_and_fits_a_phone(stack: Stack, browser: Browser) -> None:
    person = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    async with stack.sessions() as session:
        user = await Users(session).by_email(person.email)
    assert user is not None
    seed = await seed_conversation(stack.sessions, "alpha", NUMBER, caseworker_id=user.id)
    page = await signed_in_page(browser, stack, person)
    problems = await check(page, "item", goto(stack, f"/review/items/{seed.item}"))
    await claim(stack, person, seed.item)
    problems += await check(page, "item-claimed", goto(stack, f"/review/items/{seed.item}"))
    assert problems == [], "\n".join(problems)


async def test_the_team_and_opt_out_pages_pass_axe_and_fit_a_phone(
    stack: Stack, browser: Browser
) -> None:
    admin = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    await add_person(
        stack.sessions, "ana.longer-name@alpha-council.example", {"alpha": "caseworker"}
    )
    async with stack.sessions.begin() as session:
        ana = await Users(session).by_email("ana.longer-name@alpha-council.example")
        assert ana is not None
        now = datetime.now(UTC)
        for n in range(60):  # two pages
            when = now - timedelta(hours=n)
            session.add(OptOut(service_id="alpha", number=f"+4477009{n:05d}", opted_out_at=when))
        await session.flush()
        entry = await session.scalar(select(func.max(OptOut.id)))
    team = "/review/services/alpha/team"
    register = "/review/services/alpha/opt-outs"
    page = await signed_in_page(browser, stack, admin)
    problems = await check(page, "team", goto(stack, team))
    problems += await check(page, "team-invite", goto(stack, team + "/invite"))

    async def invite_error(page: Page) -> None:
        await page.goto(stack.base_url + team + "/invite")
        await page.get_by_role("button", name="Invite").click()
        await page.locator(".govuk-error-summary").wait_for()

    problems += await check(page, "team-invite-error", invite_error)
    for change in ("role", "disable", "reset-two-factor"):
        problems += await check(page, f"team-{change}", goto(stack, f"{team}/{ana.id}/{change}"))

    problems += await check(page, "opt-outs", goto(stack, register))
    problems += await check(page, "opt-outs-page-2", goto(stack, register + "?page=2"))

    def search(typed: str, status: int) -> Visit:
        async def visit(page: Page) -> None:
            await page.goto(stack.base_url + register)
            await page.get_by_label("Search by phone number").fill(typed)
            async with page.expect_navigation() as answer:
                await page.get_by_role("button", name="Search").click()
            response = await answer.value
            assert response is not None, typed
            assert response.status == status, typed

        return visit

    problems += await check(page, "opt-outs-found", search("07700 900000", 200))
    problems += await check(page, "opt-outs-search-error", search("call me", 400))
    opt_in = f"{register}/{entry}/opt-in"
    problems += await check(page, "opt-outs-reason", goto(stack, opt_in))

    def reason(typed: str) -> Visit:
        async def visit(page: Page) -> None:
            await page.goto(stack.base_url + opt_in)
            await page.get_by_label("Why are you opting this number back in?").fill(typed)
            await page.get_by_role("button", name="Continue").click()
            await page.wait_for_load_state()

        return visit

    problems += await check(page, "opt-outs-reason-error", reason(""))
    problems += await check(page, "opt-outs-check", reason("They asked again by phone"))

    # A caseworker: the register without "Opt back in", and the page saying who may.
    caseworker = await add_person(stack.sessions, "case@alpha.example", {"alpha": "caseworker"})
    case_page = await signed_in_page(browser, stack, caseworker)
    problems += await check(case_page, "opt-outs-caseworker", goto(stack, register))
    problems += await check(case_page, "opt-outs-refused", goto(stack, opt_in, 403))
    # A platform admin of every service: the list of registers.
    ops = await add_person(stack.sessions, "ops@example.org", {}, platform_admin=True)
    ops_page = await signed_in_page(browser, stack, ops)
    problems += await check(ops_page, "opt-outs-services", goto(stack, "/review/opt-outs", 200))
    assert problems == [], "\n".join(problems)


async def test_the_rule_editor_pages_pass_axe_and_fit_a_phone(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    # alpha moves into inbound (its file imported, then removed), so its rules can be drafted.
    folder = tmp_path / "rules"
    managed = ManagedRules(stack.sessions, folder)
    await managed.import_rules((folder / "alpha.yaml").read_text(), "to edit", Actor("tests"))
    (folder / "alpha.yaml").unlink()
    admin = await add_person(stack.sessions, "lead@alpha.example", {"alpha": "service_admin"})
    draft = await managed.draft("alpha", (await managed.in_force("alpha")).yaml, Actor("t"))
    url = f"/review/services/alpha/rules/drafts/{draft.draft.id}"
    page = await signed_in_page(browser, stack, admin)
    problems = await check(page, "rules-managed", goto(stack, "/review/services/alpha/rules"))
    problems += await check(page, "rules-draft", goto(stack, url))
    problems += await check(page, "rules-add", goto(stack, url + "/rules/new"))
    problems += await check(page, "rules-change", goto(stack, url + "/rules/1"))

    async def add_error(page: Page) -> None:
        await page.goto(stack.base_url + url + "/rules/new")
        await page.get_by_role("button", name="Save rule").click()
        await page.locator(".govuk-error-summary").wait_for()

    problems += await check(page, "rules-add-error", add_error)
    problems += await check(page, "rules-yaml", goto(stack, url + "/yaml"))

    async def yaml_error(page: Page) -> None:
        await page.goto(stack.base_url + url + "/yaml")
        await page.get_by_label("The draft's rules, as YAML").fill("rules: [")
        await page.get_by_role("button", name="Save the YAML").click()
        await page.locator(".govuk-error-summary").wait_for()

    problems += await check(page, "rules-yaml-error", yaml_error)
    assert problems == [], "\n".join(problems)
