"""GET /api/conversations/{item} and the queue's prompt references, over real HTTP to a running
inbound (SQLite and PostgreSQL), with a conversation seeded through the store."""

from __future__ import annotations

import json
import uuid

from inbound.store.users import Users
from tests.integration.review_support import ALPHA_NUMBER, Desk, callback_secret, desk
from tests.support.browser import add_item
from tests.support.conversations import (
    NUMBER,
    REMINDER,
    Seeded,
    seed_conversation,
    send_prompt,
)
from tests.support.waiting import eventually

__all__ = ["callback_secret", "desk"]  # fixtures


async def seeded(desk: Desk) -> Seeded:
    async with desk.stack.sessions() as session:
        user = await Users(session).by_email(desk.caseworker.email)
    assert user is not None
    return await seed_conversation(
        desk.stack.sessions, "alpha", ALPHA_NUMBER, caseworker_id=user.id
    )


async def test_the_conversation_of_an_item_is_the_thread_with_its_number(desk: Desk) -> None:
    seed = await seeded(desk)
    url = desk.stack.base_url + f"/api/conversations/{seed.item}"
    async with desk.stack.http.get(url, headers=desk.api_headers) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        text = await response.text()
    body = json.loads(text)
    assert (body["item"], body["service"], body["limit"], body["more"]) == (
        seed.item,
        "alpha",
        200,
        False,
    )
    assert NUMBER not in text
    assert body["number"].startswith("+44")
    assert "*" in body["number"]
    kinds = [entry["kind"] for entry in body["entries"]]
    assert kinds == [
        "received",
        "caseworker_reply",
        "decision",
        "prompt",
        "received",
        "outcome",
        "auto_reply",
        "prompt",
        "received",
    ]
    entries = body["entries"]
    assert entries[1]["by"] == desk.caseworker.email
    assert entries[1]["delivery"] == "delivered"
    assert (entries[2]["action"], entries[2]["note"]) == ("dismissed", "answered by text")
    assert (entries[3]["text"], entries[3]["reference"]) == (REMINDER, "appt-8812")
    assert entries[3]["expects"] == ["cancel", "confirm"]
    assert (entries[5]["action"], entries[5]["rule"], entries[5]["reference"]) == (
        "confirm",
        "confirm",
        "appt-8812",
    )
    assert (entries[7]["text"], entries[7]["text_missing"]) == (None, "text not stored")
    assert (entries[-1]["item_id"], entries[-1]["reference"]) == (seed.item, "appt-9001")
    assert [(p["reference"], p["expired"]) for p in body["open_prompts"]] == [("appt-9001", False)]


async def test_an_item_of_another_service_is_a_404_exactly_like_a_missing_one(
    desk: Desk,
) -> None:
    await seeded(desk)
    others = await add_item(desk.stack.sessions, "beta", "beta's item", sender=NUMBER)
    answers = []
    for item in (others, 987654, "abc"):
        url = desk.stack.base_url + f"/api/conversations/{item}"
        async with desk.stack.http.get(url, headers=desk.api_headers) as response:
            answers.append((response.status, await response.text()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404
    assert json.loads(answers[0][1])["error"]["code"] == "not_found"


async def test_the_conversation_needs_a_personal_token(desk: Desk) -> None:
    seed = await seeded(desk)
    url = desk.stack.base_url + f"/api/conversations/{seed.item}"
    async with desk.stack.http.get(url) as response:
        assert response.status == 401


async def test_the_queue_shows_the_prompt_reference_of_each_item(desk: Desk) -> None:
    seed = await seeded(desk)
    plain = await desk.item("an item with no prompt")
    status, body = await desk.api("GET", "/api/queue")
    assert status == 200
    references = {item["id"]: item["prompt_reference"] for item in body["items"]}
    assert references == {seed.item: "appt-9001", plain: None}
    status, detail = await desk.api("GET", f"/api/items/{seed.item}")
    assert (status, detail["prompt_reference"]) == (200, "appt-9001")
    status, page, _ = await desk.browser.get("/review/")
    assert status == 200
    assert 'ref <bdi class="text-words">appt-9001</bdi>' in page


async def test_replies_the_rules_worker_matched_show_their_prompt_in_the_conversation(
    desk: Desk,
) -> None:
    """End to end: a prompt stored, two replies through the webhook and the rules worker."""
    await send_prompt(desk.stack.sessions, "alpha", NUMBER, "appt-4242", "Reply YES or CANCEL")
    for n, text in enumerate(("YES", "is there parking?")):
        payload = {"id": f"cv-e2e-{n}-{uuid.uuid4().hex[:6]}", "from": NUMBER, "to": ALPHA_NUMBER}
        assert (await desk.stack.post_generic({**payload, "text": text})).status == 202
        await desk.stack.processed(payload["id"])
    item = await eventually(lambda: desk.stack.review_for(payload["id"]), lambda i: i is not None)
    assert item is not None
    status, body = await desk.api("GET", f"/api/conversations/{item.id}")
    assert status == 200
    shown = [(e["kind"], e["reference"]) for e in body["entries"]]
    assert shown[:3] == [
        ("prompt", "appt-4242"),
        ("received", "appt-4242"),
        ("outcome", "appt-4242"),
    ]
    assert ("auto_reply", None) in shown
    assert shown[-1][0] == "received"
    assert body["open_prompts"] == []  # answered by the YES
