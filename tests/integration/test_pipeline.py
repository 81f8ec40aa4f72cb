"""Webhook → RabbitMQ → rules worker → outcome or review, against the real services."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from inbound.store.models import Message, Outcome, ReviewItem
from tests.integration.conftest import Stack, twilio_params


def generic(text: str, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": f"gen-{uuid.uuid4().hex[:12]}",
        "from": "07700 900123",  # national format: normalised with the service's region (GB)
        "to": "+447700900000",
        "text": text,
        "received_at": "2026-11-28T09:15:00+00:00",
    }
    payload.update(overrides)
    return payload


def sid() -> str:
    return "SM" + uuid.uuid4().hex


async def test_generic_yes_is_confirmed_with_normalised_numbers(stack: Stack) -> None:
    payload = generic("YES")
    answer = await stack.post_generic(payload)
    assert answer.status == 202
    assert answer.json() == {"status": "accepted", "id": payload["id"]}
    stored = await stack.processed(payload["id"])
    assert (stored.sender, stored.recipient) == ("+447700900123", "+447700900000")
    assert stored.service_id == "appointments"
    assert stored.status == "processed"
    assert stored.text == "YES"
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00+00:00"
    outcome = await stack.outcome_for(payload["id"])
    assert outcome is not None
    assert (outcome.action, outcome.rule) == ("confirm", "confirm")


async def test_generic_question_goes_to_review(stack: Stack) -> None:
    payload = generic("Yes but can I change the time?")
    assert (await stack.post_generic(payload)).status == 202
    stored = await stack.processed(payload["id"])
    assert stored.status == "review"
    review = await stack.review_for(payload["id"])
    assert review is not None
    assert review.state == "open"
    assert review.service_id == "appointments"
    assert await stack.outcome_for(payload["id"]) is None


async def test_report_keeps_the_details(stack: Stack) -> None:
    payload = generic("REPORT broken streetlight on Mill Lane")
    await stack.post_generic(payload)
    await stack.processed(payload["id"])
    outcome = await stack.outcome_for(payload["id"])
    assert outcome is not None
    assert outcome.action == "report"
    assert outcome.captures == {"details": "broken streetlight on Mill Lane"}


async def test_twilio_signed_webhook_is_answered_with_twiml_and_processed(stack: Stack) -> None:
    message_sid = sid()
    answer = await stack.post_twilio(twilio_params(message_sid, "cancel"))
    assert answer.status == 200
    assert answer.content_type == "text/xml"
    assert "<Response/>" in answer.text
    stored = await stack.processed(message_sid)
    assert (stored.provider, stored.sender) == ("twilio", "+447700900123")
    outcome = await stack.outcome_for(message_sid)
    assert outcome is not None
    assert outcome.action == "cancel"


@pytest.mark.parametrize("provider", ["generic", "twilio"])
async def test_the_same_webhook_twice_is_stored_once(stack: Stack, provider: str) -> None:
    if provider == "generic":
        payload = generic("yes")
        message_id = payload["id"]
        answers = [await stack.post_generic(payload) for _ in range(2)]
    else:
        message_id = sid()
        params = twilio_params(message_id, "yes")
        answers = [await stack.post_twilio(params) for _ in range(2)]
    assert [answer.status < 300 for answer in answers] == [True, True]
    await stack.processed(message_id)
    # A third, different message behind the duplicate proves the worker got past both copies.
    marker = generic("ok")
    await stack.post_generic(marker)
    await stack.processed(marker["id"])
    assert await stack.count(Message) == 2
    assert await stack.count(Outcome) == 2


async def test_number_no_service_owns_goes_to_unassigned_review(stack: Stack) -> None:
    payload = generic("YES", to="+447700900999")
    await stack.post_generic(payload)
    stored = await stack.processed(payload["id"])
    assert stored.service_id is None
    review = await stack.review_for(payload["id"])
    assert review is not None
    assert review.service_id is None
    assert review.reason.startswith("no service owns")


async def test_alphanumeric_sender_is_kept(stack: Stack) -> None:
    payload = generic("yes", **{"from": "NHSAPP"})
    assert (await stack.post_generic(payload)).status == 202
    stored = await stack.processed(payload["id"])
    assert stored.sender == "NHSAPP"


BAD_GENERIC = [
    pytest.param(b"{not json", "malformed_body", 400, id="bad-json"),
    pytest.param(b"[1, 2]", "malformed_body", 400, id="not-an-object"),
    pytest.param(
        b'{"from": "+447700900123", "to": "+447700900000", "text": "yes"}', "id", 422, id="no-id"
    ),
    pytest.param(b'{"id": "x1", "to": "+447700900000", "text": "yes"}', "from", 422, id="no-from"),
    pytest.param(
        b'{"id": "x1", "from": "+447700900123", "to": "+447700900000"}', "text", 422, id="no-text"
    ),
    pytest.param(
        b'{"id": "x1", "from": "+4477", "to": "+447700900000", "text": "y", "received_at": "x"}',
        "received_at",
        422,
        id="bad-time",
    ),
    pytest.param(b"\xff\xfe", "malformed_body", 400, id="not-utf8"),
]


@pytest.mark.parametrize(("body", "named", "status"), BAD_GENERIC)
async def test_bad_generic_body_is_refused_and_nothing_stored(
    stack: Stack, body: bytes, named: str, status: int
) -> None:
    answer = await stack.post_generic(body)
    assert answer.status == status
    error = answer.json()["error"]
    assert named in (error.get("field"), error["code"])
    await _nothing_stored(stack)


async def test_wrong_content_type_is_415(stack: Stack) -> None:
    answer = await stack.post_generic(generic("yes"), Content_Type="text/plain")
    assert answer.status == 415
    await _nothing_stored(stack)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("sha256=" + "0" * 64, id="wrong"),
        pytest.param("md5=abc", id="wrong-scheme"),
        pytest.param("sha256=zz", id="not-hex"),
    ],
)
async def test_bad_generic_signature_is_refused(stack: Stack, signature: str | None) -> None:
    body = b'{"id": "sig-1", "from": "+447700900123", "to": "+447700900000", "text": "yes"}'
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Inbound-Signature"] = signature
    answer = await stack.request("POST", "/webhooks/generic", body, headers)
    assert answer.status == (401 if signature is None else 403)
    assert answer.json()["error"]["code"].startswith("signature")
    await _nothing_stored(stack)


async def test_generic_signed_with_another_secret_is_403(stack: Stack) -> None:
    answer = await stack.post_generic(generic("yes"), secret="not-the-secret")
    assert answer.status == 403
    await _nothing_stored(stack)


@pytest.mark.parametrize(
    "tamper",
    ["wrong-token", "tampered-body", "missing", "garbage", "other-account"],
)
async def test_bad_twilio_signature_is_refused(stack: Stack, tamper: str) -> None:
    message_sid = sid()
    params = twilio_params(message_sid, "yes")
    if tamper == "wrong-token":
        answer = await stack.post_twilio(params, token="another-token")
    elif tamper == "tampered-body":
        signed_for = stack.base_url + "/webhooks/twilio"
        from tests.integration.conftest import twilio_signature

        signature = twilio_signature("test-twilio-auth-token", signed_for, params)
        changed = [(k, "no" if k == "Body" else v) for k, v in params]
        answer = await stack.post_twilio(changed, signature=signature)
    elif tamper == "missing":
        answer = await stack.post_twilio(params, signature="")
    elif tamper == "garbage":
        answer = await stack.post_twilio(params, signature="!!not base64!!")
    else:
        params = [(k, "AC" + "1" * 32 if k == "AccountSid" else v) for k, v in params]
        answer = await stack.post_twilio(params)
    assert answer.status == (401 if tamper == "missing" else 403)
    await _nothing_stored(stack)


async def test_twilio_without_message_sid_is_422(stack: Stack) -> None:
    params = [(k, v) for k, v in twilio_params(sid(), "yes") if k != "MessageSid"]
    answer = await stack.post_twilio(params)
    assert answer.status == 422
    assert answer.json()["error"]["field"] == "MessageSid"
    await _nothing_stored(stack)


async def test_oversized_body_is_413(stack: Stack) -> None:
    payload = generic("x" * (70 * 1024))
    answer = await stack.post_generic(payload)
    assert answer.status == 413
    assert answer.json()["error"]["code"] == "too_large"
    await _nothing_stored(stack)


async def test_unknown_provider_is_404_json(stack: Stack) -> None:
    answer = await stack.request("POST", "/webhooks/nosuch", b"{}", {})
    assert answer.status == 404
    assert answer.json()["error"]["code"] == "unknown_provider"


async def test_get_on_webhook_is_405_json(stack: Stack) -> None:
    answer = await stack.request("GET", "/webhooks/generic", b"", {})
    assert answer.status == 405
    assert "error" in answer.json()


async def test_health_and_readiness(stack: Stack) -> None:
    health = await stack.request("GET", "/healthz", b"", {})
    ready = await stack.request("GET", "/readyz", b"", {})
    assert health.status == 200
    assert ready.status == 200
    assert ready.json()["checks"] == {"broker": True, "database": True}


async def _nothing_stored(stack: Stack) -> None:
    # Prove the worker is idle rather than slow: a good message sent after the bad one is
    # processed, and it is the only one stored.
    marker = generic("yes")
    assert (await stack.post_generic(marker)).status == 202
    await stack.processed(marker["id"])
    await asyncio.sleep(0)
    assert await stack.count(Message) == 1
    assert await stack.count(ReviewItem) == 0


@pytest.mark.parametrize(
    "text",
    [
        "Diolch yn fawr 🙏 — ŵ ŷ",
        "نعم، شكراً",
        "Ja, tack! Ça marche 👍🏽",
        "tab\there\r\nnew line\x07bell",
        "\u202eright-to-left override",
    ],
)
async def test_unicode_and_control_characters_are_stored_faithfully(
    stack: Stack, text: str
) -> None:
    payload = generic(text)
    assert (await stack.post_generic(payload)).status == 202
    stored = await stack.processed(payload["id"])
    assert stored.text == text


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param('"a\\u0000b"', "text", id="nul"),
        pytest.param('"\\ud800"', "text", id="lone-surrogate"),
    ],
)
async def test_unstorable_text_is_a_400_naming_the_field(
    stack: Stack, raw: str, field: str
) -> None:
    body = (
        '{"id": "u-1", "from": "+447700900123", "to": "+447700900000", "text": ' + raw + "}"
    ).encode()
    answer = await stack.post_generic(body)
    assert answer.status == 400
    assert answer.json()["error"]["field"] == field
    await _nothing_stored(stack)
