"""The audit's findings on the caseworkers' pages and API (issue 13), over real HTTP against a
running inbound on SQLite and PostgreSQL: capped replies, fixed `?done=` messages, a clear 400
for a bad cursor or a file where text belongs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from inbound.config import Settings
from inbound.states import ActionKind, ActionState
from inbound.store.actions import Actions
from inbound.store.models import ReviewItem
from tests.integration.review_support import Desk, callback_secret, desk, review_desk
from tests.support.browser import add_person, signed_in

__all__ = ["callback_secret", "desk"]  # fixtures


# -- the queue cursor -------------------------------------------------------------------------

BAD_CURSORS = [
    "9" * 400,  # the audit's: OverflowError in datetime, a 500 with a traceback
    "99999999999999999999_1",
    "1_99999999999",  # past PostgreSQL's integer
    "-1_-1",
    "abc",
    "1_x",
    "١٢_٣",
]


# Each table below is checked in one test (one running server), not one server per row.


async def test_a_bad_cursor_is_a_clear_400_on_the_page_and_the_api(desk: Desk) -> None:
    for cursor in BAD_CURSORS:
        status, page, _ = await desk.browser.get(f"/review/?after={cursor}")
        assert status == 400, cursor
        assert "after=" in page
        assert "Back to the queue" in page
        status, body = await desk.api("GET", "/api/queue", params={"after": cursor})
        assert (status, body["error"]["field"]) == (400, "after"), cursor


async def test_the_next_page_link_still_works(desk: Desk) -> None:
    for n in range(51):
        await desk.item(f"message {n}")
    _, first, _ = await desk.browser.get("/review/")
    found = re.search(r'href="/review/\?([^"]*after=[^"]*)" rel="next"', first)
    assert found is not None
    status, second, _ = await desk.browser.get("/review/?" + found.group(1).replace("&amp;", "&"))
    assert status == 200
    assert "message 50" in second
    status, body = await desk.api("GET", "/api/queue")
    status, more = await desk.api("GET", "/api/queue", params={"after": body["next_after"]})
    assert status == 200
    assert more["items"]


BAD_FILTERS = [
    ("service=" + "x" * 300, "service"),  # audited as "denied" into a 64-character column
    ("service=alpha%00", "service"),
    ("q=lamp%00", "q"),
    ("reason=%00", "reason"),
]


async def test_a_filter_that_cant_be_stored_or_searched_is_a_400(desk: Desk) -> None:
    for query, field in BAD_FILTERS:
        status, page, _ = await desk.browser.get(f"/review/?{query}")
        assert status == 400, query
        assert f"{field}=" in page
        status, body = await desk.api("GET", f"/api/queue?{query}")
        assert (status, body["error"]["field"]) == (400, field), query


async def test_an_item_id_past_the_database_integer_is_not_found(desk: Desk) -> None:
    for item in ["2147483648", "99999999999", "0"]:
        assert (await desk.browser.get(f"/review/items/{item}"))[0] == 404, item
        assert (await desk.browser.post(f"/review/items/{item}/note", {"text": "x"}))[0] == 404
        assert (await desk.api("GET", f"/api/items/{item}"))[0] == 404


# -- ?done= -----------------------------------------------------------------------------------


NOT_DONE_KEYS = [
    "Your account is locked: call 0800 000 000 to unlock it",
    "<b>claimed</b>",
    "claimed",  # close to a key, but not one
    "",
]


async def test_done_shows_nothing_for_anything_but_a_known_key(desk: Desk) -> None:
    item = await desk.item()
    for done in NOT_DONE_KEYS:
        status, page, _ = await desk.browser.get(f"/review/items/{item}?done={done}")
        assert status == 200
        assert 'role="status"' not in page, done
        assert "Done:" not in page
        assert "0800 000 000" not in page


async def test_done_names_a_fixed_message(desk: Desk) -> None:
    item = await desk.claimed()
    _, page, _ = await desk.browser.get(f"/review/items/{item}?done=claim")
    assert "Done: claimed. No one else can decide, reply or dismiss it while you hold it." in page


# -- a file where text belongs ----------------------------------------------------------------

TEXT_FIELDS = [
    ("note", "text", {}),
    ("reply", "text", {}),
    ("dismiss", "reason", {}),
    ("decide", "decision", {}),
    ("decide", "details", {"decision": "confirm"}),
]


async def post_file(desk: Desk, path: str, field: str, others: dict[str, str]) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", desk.browser.csrf)
    for name, value in others.items():
        form.add_field(name, value)
    form.add_field(field, b"%PDF-1.4 not text", filename="letter.pdf")
    async with desk.browser.http.post(
        desk.stack.base_url + path, data=form, allow_redirects=False
    ) as response:
        return response.status, await response.text()


async def test_a_file_where_text_is_expected_is_a_400_and_nothing_is_stored(desk: Desk) -> None:
    for action, field, others in TEXT_FIELDS:
        item = await desk.claimed()
        status, page = await post_file(desk, f"/review/items/{item}/{action}", field, others)
        assert status == 400, (action, field)
        assert f"{field}: a file was sent where text is expected" in page
        assert await desk.notes() == []
        assert await desk.replies() == []
        _, page, _ = await desk.browser.get(f"/review/items/{item}")
        assert "FileField" not in page
        assert "claimed" in page  # neither decided nor dismissed


async def test_a_file_in_the_rules_test_is_a_400(settings: Settings, tmp_path: Path) -> None:
    async with review_desk(settings, tmp_path) as desk:
        admin = await add_person(
            desk.stack.sessions, "lead@alpha.example", {"alpha": "service_admin"}
        )
        desk.browser = await signed_in(desk.stack.base_url, admin)
        status, page = await post_file(desk, "/review/services/alpha/rules", "text", {})
        assert status == 400
        assert "text: a file was sent where text is expected" in page


async def test_a_field_sent_twice_is_a_400(desk: Desk) -> None:
    item = await desk.claimed()
    form = aiohttp.FormData([("csrf_token", desk.browser.csrf), ("text", "a"), ("text", "b")])
    async with desk.browser.http.post(
        f"{desk.stack.base_url}/review/items/{item}/note", data=form, allow_redirects=False
    ) as response:
        assert response.status == 400
        assert "text: was sent more than once" in await response.text()
    assert await desk.notes() == []


WRONG_TYPES: list[tuple[str, dict[str, object]]] = [
    ("note", {"text": {"a": 1}}),  # once stored as its JSON text
    ("note", {"text": 5}),
    ("reply", {"text": ["hello"]}),
    ("dismiss", {"reason": None}),
    ("decide", {"action": "confirm", "captures": {"details": 5}}),
    ("decide", {"action": "confirm", "captures": ["details"]}),
]


async def test_a_json_field_of_the_wrong_type_is_a_422_naming_it(desk: Desk) -> None:
    for action, body in WRONG_TYPES:
        item = await desk.claimed()
        status, answer = await desk.api("POST", f"/api/items/{item}/{action}", json=body)
        assert status == 422, body
        assert answer["error"]["field"] in body
    assert await desk.notes() == []
    assert await desk.replies() == []


# -- text no one types ------------------------------------------------------------------------


async def test_a_nul_character_is_refused_plainly_not_a_database_error(desk: Desk) -> None:
    for action, field in [("note", "text"), ("dismiss", "reason"), ("reply", "text")]:
        item = await desk.claimed()
        path = f"/review/items/{item}/{action}"
        status, page, _ = await desk.browser.post(path, {field: "hello\x00"})
        assert status == 400, action
        assert "control character (U+0000)" in page
        status, body = await desk.api("POST", f"/api/items/{item}/{action}", json={field: "\x00"})
        assert status == 422, action
        assert "U+0000" in body["error"]["message"]


async def test_a_dismissal_reason_longer_than_its_column_is_refused(desk: Desk) -> None:
    item = await desk.claimed()
    status, page, _ = await desk.browser.post(
        f"/review/items/{item}/dismiss", {"reason": "x" * 501}
    )
    assert status == 400
    assert "shorten the reason to 500 characters" in page


# -- replies: the cap per number and the length -----------------------------------------------


async def test_a_caseworker_can_text_a_number_five_times_an_hour_and_is_told_when_next(
    desk: Desk,
) -> None:
    item = await desk.claimed()
    for n in range(5):
        status, _, _ = await desk.browser.post(
            f"/review/items/{item}/reply", {"text": f"reply {n}"}
        )
        assert status == 303, n
    status, page, _ = await desk.browser.post(f"/review/items/{item}/reply", {"text": "sixth"})
    assert status == 409
    said = (
        r"this number has had 5 texts from the service in the last hour \(automatic replies "
        r"included\) and 5 is the most allowed: you can reply again at \d\d:\d\d UTC, in "
        r"(59|60) min"
    )
    assert re.search(said, page), page
    assert [r.payload["text"] for r in await desk.replies()] == [f"reply {n}" for n in range(5)]


async def test_the_reply_form_shows_the_count_and_the_limits(desk: Desk) -> None:
    item = await desk.claimed()
    _, page, _ = await desk.browser.get(f"/review/items/{item}")
    assert "This number has had <strong>0</strong> texts from the service in the last hour" in page
    assert "At most 5 an hour." in page
    assert "Up to 918 characters (6 texts)" in page
    assert "then up to 402" in page
    await desk.browser.post(f"/review/items/{item}/reply", {"text": "hello"})
    _, page, _ = await desk.browser.get(f"/review/items/{item}")
    assert "This number has had <strong>1</strong> text from the service" in page


async def test_at_the_cap_the_page_says_why_instead_of_offering_the_form(desk: Desk) -> None:
    item = await desk.claimed()
    for n in range(5):
        await desk.browser.post(f"/review/items/{item}/reply", {"text": f"reply {n}"})
    _, page, _ = await desk.browser.get(f"/review/items/{item}")
    assert 'id="reply-text"' not in page
    assert "You can't reply now: this number has had 5 texts" in page


async def test_automatic_replies_count_against_the_cap(desk: Desk) -> None:
    sender = "+447700900777"
    item = await desk.claimed(sender=sender)
    async with desk.stack.sessions.begin() as session:
        review = await session.get(ReviewItem, item)
        assert review is not None
        for n in range(3):
            await Actions(session).add(
                message_id=review.message_id,
                service_id="alpha",
                kind=ActionKind.REPLY,
                key=f"auto-{n}",
                payload={"text": "auto"},
                recipient=sender,
                state=ActionState.DELIVERED,
            )
    for _ in range(2):
        assert (await desk.browser.post(f"/review/items/{item}/reply", {"text": "hi"}))[0] == 303
    assert (await desk.browser.post(f"/review/items/{item}/reply", {"text": "hi"}))[0] == 409


async def test_a_burst_of_replies_to_one_number_stops_at_the_cap(desk: Desk) -> None:
    """The audit's 8 replies within a second: the cap's count and the insert share a lock."""
    item = await desk.claimed()
    statuses = await asyncio.gather(
        *(
            desk.api("POST", f"/api/items/{item}/reply", json={"text": f"burst {n}"})
            for n in range(8)
        )
    )
    assert sorted(status for status, _ in statuses) == [200] * 5 + [409] * 3
    assert len(await desk.replies()) == 5


async def test_the_cap_is_a_setting(settings: Settings, tmp_path: Path) -> None:
    async with review_desk(settings, tmp_path, caseworker_reply_cap_per_hour=2) as desk:
        item = await desk.claimed()
        for n in range(2):
            status, _ = await desk.api("POST", f"/api/items/{item}/reply", json={"text": "hi"})
            assert status == 200, n
        status, body = await desk.api("POST", f"/api/items/{item}/reply", json={"text": "hi"})
        assert status == 409
        assert "2 is the most allowed" in body["error"]["message"]
        _, shown = await desk.api("GET", f"/api/items/{item}")
        assert shown["reply"]["allowed"] is False
        assert (shown["reply"]["sent_last_hour"], shown["reply"]["cap_per_hour"]) == (2, 2)
        assert shown["reply"]["next_at"] is not None


TOO_LONG = [
    ("x" * 917 + "😀", "would be 14 texts"),  # the audit's 915 characters, plus one emoji
    ("x" * 919, "would be 7 texts"),
    ("ŵ" * 403, "would be 7 texts"),
]


async def test_a_reply_over_six_texts_is_refused_whatever_its_alphabet(desk: Desk) -> None:
    item = await desk.claimed()
    for text, reason in TOO_LONG:
        status, page, _ = await desk.browser.post(f"/review/items/{item}/reply", {"text": text})
        assert status == 400
        assert reason in page
        status, body = await desk.api("POST", f"/api/items/{item}/reply", json={"text": text})
        assert status == 422
        assert reason in body["error"]["message"]
    assert await desk.replies() == []
