"""Reading a page of Notify's received texts: what the walk needs, or why it can't go on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from inbound.backfill.page import PageInvalid, read_page
from inbound.backfill.walk import Kept

ITEM = {
    "id": "f8d5f8c6-7a0e-4a4b-9a51-0f5e2c0d2f11",
    "user_number": "447700900123",
    "notify_number": "07700900000",
    "created_at": "2026-11-30T09:15:04.123456Z",
    "service_id": "3c4e5f60-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    "content": "YES",
}


def body(*items: object, **extra: object) -> bytes:
    return json.dumps({"received_text_messages": list(items), "links": {}, **extra}).encode()


def test_a_page_is_read_newest_first_with_the_fields_a_message_needs() -> None:
    older = {**ITEM, "id": "older", "created_at": "2026-11-30T09:00:00.000000Z"}
    texts = read_page(body(ITEM, older))
    assert [t.kept for t in texts] == [
        Kept(ITEM["id"], datetime(2026, 11, 30, 9, 15, 4, 123456, tzinfo=UTC)),
        Kept("older", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
    ]
    first = texts[0]
    assert (first.user_number, first.notify_number, first.content, first.created_at) == (
        "447700900123",
        "07700900000",
        "YES",
        "2026-11-30T09:15:04.123456Z",
    )


def test_an_empty_page_is_the_end() -> None:
    assert read_page(body()) == []


def test_an_odd_number_or_text_is_left_to_the_message_not_the_page() -> None:
    odd = {**ITEM, "user_number": None, "content": 7}
    (text,) = read_page(body(odd))
    assert (text.user_number, text.content) == ("", "")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"<html>Bad gateway</html>", "not Notify's JSON"),
        (b"[]", "not Notify's JSON"),
        (json.dumps({"links": {}}).encode(), "no received_text_messages list"),
        (json.dumps({"received_text_messages": {}}).encode(), "no received_text_messages list"),
        (body({**ITEM, "id": ""}), r"received_text_messages\[0\] has no id"),
        (body(ITEM, {**ITEM, "id": 5}), r"received_text_messages\[1\] has no id"),
        (body("a string"), r"received_text_messages\[0\] has no id"),
        (body({**ITEM, "created_at": "yesterday"}), "has no usable created_at"),
        (body({**ITEM, "created_at": None}), "has no usable created_at"),
    ],
)
def test_a_page_the_walk_cannot_follow_says_why(raw: bytes, why: str) -> None:
    with pytest.raises(PageInvalid, match=why):
        read_page(raw)
