"""Two-factor sign-in over real HTTP (SQLite and PostgreSQL): a stale enrolment never replaces
a confirmed key, and each code is used once (issue 13)."""

from __future__ import annotations

import asyncio

import pytest

from inbound.review.secret_box import SecretBox
from inbound.secret_keys import split_keys
from inbound.store.two_factor import TwoFactorKeys
from tests.conftest import TEST_SECRET_KEY
from tests.integration.conftest import Stack
from tests.integration.sign_in_support import (
    Browsers,
    audit,
    browsers,
    caseworker,
    code,
    enrol_page_secret,
    stack,
    stored_user,
)
from tests.support.browser import Client

__all__ = ["browsers", "stack"]  # fixtures


def opened(stored: str | None) -> str:
    assert stored is not None
    return SecretBox(split_keys(TEST_SECRET_KEY)).open(stored)


# -- a stale enrolment ------------------------------------------------------------------------


async def test_a_stale_enrolment_never_replaces_a_confirmed_key(
    stack: Stack, browsers: Browsers
) -> None:
    """The audit's case: someone holding the initial password opens an enrolment and leaves it;
    the owner enrols; the stale page's key, confirmed later, must not sign anyone in, and the
    owner's authenticator must keep working."""
    owner = await caseworker(stack, "new@alpha.example", enrolled=False)
    intruder, status, _, headers = await browsers.password_step(owner.email)
    assert (status, headers["Location"]) == (303, "/review/enrol")
    intruders_key = await enrol_page_secret(intruder)

    browser, status, _, headers = await browsers.password_step(owner.email)
    assert headers["Location"] == "/review/enrol"
    owners_key = await enrol_page_secret(browser)
    status, _, headers = await browser.post("/review/enrol", {"code": code(owners_key)})
    assert (status, headers["Location"]) == (303, "/review/")

    _, _, headers = await intruder.post("/review/enrol", {"code": code(intruders_key)})
    assert headers.get("Location") != "/review/"
    assert (await intruder.get("/review/"))[0] == 303  # not signed in
    assert opened((await stored_user(stack, owner.email)).totp_secret) == owners_key

    # The owner's app still signs them in (a later step: the first one is used).
    again, _, _, headers = await browsers.password_step(owner.email)
    assert headers["Location"] == "/review/two-factor"
    await again.get("/review/two-factor")
    status, _, headers = await again.post("/review/two-factor", {"code": code(owners_key, 1)})
    assert (status, headers["Location"]) == (303, "/review/")


async def test_confirming_an_enrolment_ends_the_users_other_half_signed_in_sessions(
    stack: Stack, browsers: Browsers
) -> None:
    owner = await caseworker(stack, "new@alpha.example", enrolled=False)
    other, _, _, _ = await browsers.password_step(owner.email)
    await enrol_page_secret(other)
    browser, _, _, _ = await browsers.password_step(owner.email)
    key = await enrol_page_secret(browser)
    assert (await browser.post("/review/enrol", {"code": code(key)}))[0] == 303

    status, _, headers = await other.get("/review/enrol")
    assert (status, headers["Location"]) == (303, "/review/sign-in")
    assert (await other.get("/review/enrol/qr.svg"))[0] == 404


async def test_two_enrolments_confirmed_at_once_store_one_key(
    stack: Stack, browsers: Browsers
) -> None:
    owner = await caseworker(stack, "new@alpha.example", enrolled=False)
    first, _, _, _ = await browsers.password_step(owner.email)
    second, _, _, _ = await browsers.password_step(owner.email)
    keys = [await enrol_page_secret(first), await enrol_page_secret(second)]
    results = await asyncio.gather(
        first.post("/review/enrol", {"code": code(keys[0])}),
        second.post("/review/enrol", {"code": code(keys[1])}),
    )
    winners = [keys[n] for n, (status, _, _) in enumerate(results) if status == 303]
    assert len(winners) == 1
    assert opened((await stored_user(stack, owner.email)).totp_secret) == winners[0]


# -- each code once ---------------------------------------------------------------------------


async def half_signed_in(browsers: Browsers, email: str) -> Client:
    browser, status, _, headers = await browsers.password_step(email)
    assert (status, headers["Location"]) == (303, "/review/two-factor")
    await browser.get("/review/two-factor")
    return browser


async def test_a_code_signs_in_once(stack: Stack, browsers: Browsers) -> None:
    person = await caseworker(stack, "case@alpha.example")
    assert person.totp_secret is not None
    used = code(person.totp_secret)
    first = await half_signed_in(browsers, person.email)
    status, _, headers = await first.post("/review/two-factor", {"code": used})
    assert (status, headers["Location"]) == (303, "/review/")

    second = await half_signed_in(browsers, person.email)
    status, page, _ = await second.post("/review/two-factor", {"code": used})
    assert status == 401
    assert "That code was used already: wait for the next one in your app." in page
    assert (await second.get("/review/"))[0] == 303
    failed = await audit(stack, "sign_in_failed")
    assert [event.detail for event in failed] == ["code_reused"]


async def test_the_same_code_sent_twice_at_once_signs_in_once(
    stack: Stack, browsers: Browsers
) -> None:
    person = await caseworker(stack, "case@alpha.example")
    assert person.totp_secret is not None
    used = code(person.totp_secret)
    both = [await half_signed_in(browsers, person.email) for _ in range(2)]
    results = await asyncio.gather(
        *(browser.post("/review/two-factor", {"code": used}) for browser in both)
    )
    assert sorted(status for status, _, _ in results) == [303, 401]


@pytest.mark.parametrize(
    ("last_used", "step", "accepted"),
    [
        (None, 100, True),  # never used a code
        (99, 100, True),  # a later step
        (100, 100, False),  # the same step again: a replay
        (101, 100, False),  # an earlier step than one already used (the drift window's)
    ],
)
async def test_a_time_step_is_accepted_only_after_the_last_one_used(
    stack: Stack, last_used: int | None, step: int, accepted: bool
) -> None:
    await caseworker(stack, "case@alpha.example")
    user = await stored_user(stack, "case@alpha.example")
    async with stack.sessions.begin() as session:
        found = await session.get(type(user), user.id)
        assert found is not None
        found.totp_last_step = last_used
    async with stack.sessions.begin() as session:
        assert await TwoFactorKeys(session).use_step(user.id, step) is accepted
    expected = step if accepted else last_used
    assert (await stored_user(stack, "case@alpha.example")).totp_last_step == expected
