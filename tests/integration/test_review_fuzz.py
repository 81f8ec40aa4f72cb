"""Every POST form of /review, fuzzed over real HTTP with hypothesis: generated values (control
characters, bidi overrides, huge values), missing and repeated fields, files and binary parts
where text belongs, bodies that aren't forms at all. Whatever arrives, the answer is one the page
means (a redirect, the page again, 400, 403, 404, 409, 413), never a 500; and nothing a
person couldn't type is stored.

Bounded to fit `make test`: ITEM_EXAMPLES posts to the item forms and OTHER_EXAMPLES to the
rules and sign-in forms, per database (about 40 s each on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from inbound.config import Settings
from inbound.review.decisions import CAPTURES, DECISIONS, control_character
from inbound.store.models import Note, ReviewItem
from tests.integration.review_support import Desk, callback_secret, review_desk
from tests.support.browser import Client, add_person, signed_in

__all__ = ["callback_secret"]  # fixtures

ITEM_EXAMPLES = 250
OTHER_EXAMPLES = 100
ANSWERS = {200, 303, 400, 403, 404, 409, 413}
# Sign-in also answers a wrong password (401) and a throttled one (429).
SIGN_IN_ANSWERS = ANSWERS | {401, 429}

ITEM_FORMS: dict[str, tuple[str, ...]] = {
    "claim": (),
    "release": (),
    "decide": ("decision", *CAPTURES),
    "reply": ("text",),
    "dismiss": ("reason",),
    "note": ("text",),
}
OTHER_FORMS: dict[str, tuple[str, ...]] = {
    "/review/services/alpha/rules": ("text",),
    "/review/sign-in": ("email", "password"),
    "/review/two-factor": ("code",),
    "/review/enrol": ("code",),
}


@dataclass
class Fuzzed:
    desk: Desk
    admin: Client  # a service_admin of alpha, for the rules page


@pytest.fixture
async def fuzzed(settings: Settings, tmp_path: Path) -> AsyncIterator[Fuzzed]:
    async with review_desk(settings, tmp_path, caseworker_reply_cap_per_hour=1000) as desk:
        lead = await add_person(
            desk.stack.sessions, "lead@alpha.example", {"alpha": "service_admin"}
        )
        admin = await signed_in(desk.stack.base_url, lead)
        try:
            yield Fuzzed(desk, admin)
        finally:
            await admin.close()


# -- what gets posted -------------------------------------------------------------------------

# What people type, what they paste, and what no person types.
awkward = st.sampled_from(
    ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u202e", "\u2066", "\ufeff", "\r\n", "😀", "ŵ"]
)
text_values = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.text(max_size=8), awkward), max_size=8).map("".join),
    st.sampled_from(DECISIONS),
    st.integers(-(2**70), 2**70).map(str),
    st.integers(400, 20_000).map(lambda n: "x" * n),  # over every limit, under the body's
    st.just("y" * 2_000_000),  # over the 1 MiB body limit: a 413
)


@dataclass(frozen=True)
class Upload:
    """A multipart part that isn't text: a file, or bytes without a filename."""

    data: bytes
    filename: str | None
    content_type: str


uploads = st.builds(
    Upload,
    st.binary(max_size=64),
    st.one_of(st.none(), st.sampled_from(["note.txt", "letter.pdf", "../../etc/passwd", ""])),
    st.sampled_from(["application/octet-stream", "text/plain", "image/png"]),
)
values = st.one_of(text_values, uploads)


@dataclass(frozen=True)
class Post:
    """One generated form post: its fields in order (names may repeat), how it is encoded, and
    whether it carries the CSRF token."""

    fields: tuple[tuple[str, str | Upload], ...]
    multipart: bool
    csrf: bool


def posts(names: tuple[str, ...]) -> st.SearchStrategy[Post]:
    # The CSRF token is sent right or not at all here; a wrong one has a test of its own.
    name = st.sampled_from([*names, "unexpected", ""]) if names else st.just("x")
    return st.builds(
        Post,
        st.lists(st.tuples(name, values), max_size=6).map(tuple),
        st.booleans(),
        st.sampled_from([True, True, True, False]),  # mostly past the CSRF check
    )


# Bodies that aren't forms a browser sends: the page can't read them, so 400.
RAW_BODIES = [
    ("application/x-www-form-urlencoded", b"text=\xff\xfe\xfd&csrf_token=%(csrf)s"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"csrf_token=%(csrf)s"),
    ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\nx"),
    ("multipart/form-data; boundary=b", b"--b\r\nbroken"),
    ("multipart/form-data", b"no boundary"),
    ("application/json", b'{"text": "hello", "csrf_token": "%(csrf)s"}'),
    ("text/plain", b"csrf_token=%(csrf)s&text=hello"),
]


async def send(client: Client, path: str, post: Post) -> tuple[int, str]:
    fields = [*([("csrf_token", client.csrf)] if post.csrf else []), *post.fields]
    body: aiohttp.MultipartWriter | bytes
    if post.multipart or any(isinstance(value, Upload) for _, value in fields):
        body = aiohttp.MultipartWriter("form-data")
        for name, value in fields:
            if isinstance(value, Upload):
                part = body.append(value.data, {"Content-Type": value.content_type})
                named = {"filename": value.filename} if value.filename is not None else {}
                part.set_content_disposition("form-data", name=name, **named)
            else:
                body.append(value).set_content_disposition("form-data", name=name)
        headers = {}
    else:
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with client.http.post(
        client.base_url + path, data=body, headers=headers, allow_redirects=False
    ) as response:
        return response.status, await response.text()


async def send_raw(client: Client, path: str, content_type: str, body: bytes) -> int:
    filled = body.replace(b"%(csrf)s", client.csrf.encode())
    async with client.http.post(
        client.base_url + path,
        data=filled,
        headers={"Content-Type": content_type},
        allow_redirects=False,
    ) as response:
        await response.read()
        return response.status


def clear(status: int, page: str, allowed: set[int]) -> None:
    assert status in allowed, (status, page[:2000])
    assert "Traceback" not in page


# -- the tests --------------------------------------------------------------------------------


def fuzz(examples: int) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@fuzz(ITEM_EXAMPLES)
@given(action=st.sampled_from(sorted(ITEM_FORMS)), post=st.data())
async def test_any_post_to_an_item_form_gets_a_clear_answer(
    fuzzed: Fuzzed, action: str, post: st.DataObject
) -> None:
    desk = fuzzed.desk
    item = await desk.claimed()
    sent = post.draw(posts(ITEM_FORMS[action]))
    status, page = await send(desk.browser, f"/review/items/{item}/{action}", sent)
    clear(status, page, ANSWERS)
    async with desk.stack.sessions() as session:
        notes = list(await session.scalars(select(Note.text).where(Note.item_id == item)))
        review = await session.get(ReviewItem, item)
    # What was kept is text someone typed: not a file's description, no control characters.
    kept = [*notes, *([review.decision_note] if review and review.decision_note else [])]
    assert all(control_character(text) is None for text in kept), kept
    assert not any("FileField" in text or "bytearray" in text for text in kept), kept


@fuzz(OTHER_EXAMPLES)
@given(path=st.sampled_from(sorted(OTHER_FORMS)), post=st.data())
async def test_any_post_to_the_rules_and_sign_in_forms_gets_a_clear_answer(
    fuzzed: Fuzzed, path: str, post: st.DataObject
) -> None:
    # The rules page as its admin; the sign-in pages as someone not signed in.
    client = fuzzed.admin if "rules" in path else Client(fuzzed.desk.stack.base_url)
    try:
        if client is not fuzzed.admin:
            await client.get("/review/sign-in")  # the pre-sign-in CSRF cookie and token
        sent = post.draw(posts(OTHER_FORMS[path]))
        status, page = await send(client, path, sent)
        clear(status, page, SIGN_IN_ANSWERS)
    finally:
        if client is not fuzzed.admin:
            await client.close()


async def test_a_body_that_is_not_a_form_is_a_400_on_every_item_form(fuzzed: Fuzzed) -> None:
    desk = fuzzed.desk
    for action in ITEM_FORMS:
        for content_type, body in RAW_BODIES:
            item = await desk.claimed()
            status = await send_raw(
                desk.browser, f"/review/items/{item}/{action}", content_type, body
            )
            assert status == 400, (action, content_type, body)


async def test_a_csrf_token_no_page_gave_out_is_a_403_whatever_its_characters(
    fuzzed: Fuzzed,
) -> None:
    anonymous = Client(fuzzed.desk.stack.base_url)
    try:
        await anonymous.get("/review/sign-in")
        for token in ["\x80", "é", "😀"]:
            status, page, _ = await anonymous.post(
                "/review/sign-in", {"csrf_token": token, "email": "a@b.example"}, csrf=False
            )
            assert status == 403, (token, page[:500])
            item = await fuzzed.desk.claimed()
            status, page, _ = await fuzzed.desk.browser.post(
                f"/review/items/{item}/note", {"csrf_token": token, "text": "x"}, csrf=False
            )
            assert status == 403, (token, page[:500])
    finally:
        await anonymous.close()


async def test_nothing_a_person_could_not_type_is_stored(fuzzed: Fuzzed) -> None:
    """After a burst of awkward notes and dismissals, what was stored is text a person wrote."""
    desk = fuzzed.desk
    for text in ["ok\x00", "\x1b[2J", "a\u202eb", "fine\r\nline", "x" * 1001, "😀"]:
        item = await desk.claimed()
        await desk.browser.post(f"/review/items/{item}/note", {"text": text})
        await desk.browser.post(f"/review/items/{item}/dismiss", {"reason": text})
    async with desk.stack.sessions() as session:
        notes = list(await session.scalars(select(Note.text)))
        reasons = list(await session.scalars(select(ReviewItem.decision_note)))
    stored = [*notes, *(reason for reason in reasons if reason)]
    assert sorted(notes) == sorted(["a\u202eb", "fine\r\nline", "😀"])
    assert all(control_character(text) is None for text in stored)
    assert all(len(text) <= 1000 for text in stored)
