"""GOV.UK Notify's delivery receipts at /webhooks/notify-status, through the running stack over
real HTTP, on SQLite and PostgreSQL with real RabbitMQ: a delivered reminder of a mapped template
becomes a prompt with no code in the service, and the reply to it reaches the service with the
reminder's reference.

Receipts as notifications-api's `send_delivery_status_to_service` posts them (JSON,
`Authorization: Bearer <token>`, times `%Y-%m-%dT%H:%M:%S.%fZ`), posted by the fake Notify.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from notifications_python_client.notifications import NotificationsAPIClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from inbound.config import Settings
from inbound.prompts.model import PromptState
from inbound.store.models import PromptRow
from tests.conftest import EXAMPLE_RULES
from tests.integration.conftest import Answer, Stack, running_stack
from tests.integration.reliability_support import pg_url, proxied
from tests.support.fake_notify import FakeNotify, notify_time
from tests.support.fake_service import fake_service
from tests.support.waiting import eventually

TOKEN = "platform-notify-callback-token"
LIBRARY_TOKEN = "library-own-callback-token"
REMINDER = "f33517ff-2a88-4f6e-b855-c550268ce08a"  # the surgery's reminder template
RENEWAL = "5c0a7d1e-1111-4222-8333-444455556666"  # the library's
UNMAPPED = "aaaaaaaa-0000-4000-8000-000000000000"
__all__ = ["pg_url"]  # a fixture

CALLBACK_SECRET = "test-callback-secret-for-receipts"
SENT = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)

LIBRARY_RULES = f"""
service:
  id: library
  name: Town library renewals
  region: GB
  numbers: ["+447700900111"]
  notify:
    inbound_token_env: LIBRARY_NOTIFY_TOKEN
rules:
  - name: renew
    keywords: [renew]
    action: confirm
prompts:
  templates:
    {RENEWAL}: {{expects: [confirm], expires_after: 2d}}
"""


def rules_with_templates(tmp_path: Path, callback_url: str | None = None) -> Path:
    """The example rules; the surgery maps its reminder template (and sends its callbacks to
    `callback_url`), and a library service maps its own, with its own callback token."""
    folder = tmp_path / "rules"
    shutil.copytree(EXAMPLE_RULES, folder)
    surgery = folder / "appointments.yaml"
    text = surgery.read_text()
    text = text.replace(
        "  allow_change: false\n",
        "  allow_change: false\n"
        f"  templates:\n    {REMINDER}: {{expects: [confirm, cancel], expires_after: 7d}}\n",
    )
    if callback_url is not None:
        text = text.replace("https://surgery.example/inbound/appointments", callback_url)
        text = text.replace("APPOINTMENTS_CALLBACK_SECRET", "INBOUND_TEST_RECEIPT_SECRET")
    surgery.write_text(text)
    (folder / "library.yaml").write_text(LIBRARY_RULES)
    return folder


@pytest.fixture
async def stack_for_receipts(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    monkeypatch.setenv("LIBRARY_NOTIFY_TOKEN", LIBRARY_TOKEN)
    changed = {
        "rules_dir": rules_with_templates(tmp_path),
        "notify_inbound_tokens": SecretStr(TOKEN),
    }
    async with running_stack(settings.model_copy(update=changed)) as stack:
        yield stack


def receipt(**changes: Any) -> dict[str, Any]:
    """A delivery receipt for a delivered reminder of the surgery's template."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "reference": "appt-8812",
        "to": "07700900123",
        "status": "delivered",
        "created_at": notify_time(SENT - timedelta(seconds=5)),
        "completed_at": notify_time(SENT + timedelta(seconds=7)),
        "sent_at": notify_time(SENT),
        "notification_type": "sms",
        "template_id": REMINDER,
        "template_version": 1,
    }
    body.update(changes)
    return body


async def post_receipt(
    stack: Stack, body: dict[str, Any] | bytes, token: str | None = TOKEN
) -> Answer:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await stack.request("POST", "/webhooks/notify-status", raw, headers)


async def prompts(stack: Stack) -> list[PromptRow]:
    async with stack.sessions() as session:
        return list(await session.scalars(select(PromptRow).order_by(PromptRow.id)))


async def receipts_counted(stack: Stack, result: str) -> float:
    """inbound_notify_receipts_total{result=...} as /metrics shows it."""
    text = (await stack.request("GET", "/metrics", b"", {})).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "inbound_notify_receipts_total" and sample.labels == {
                "result": result
            }:
                return sample.value
    return 0.0


async def test_a_delivered_reminder_becomes_a_prompt_once_however_often_it_is_posted(
    stack_for_receipts: Stack,
) -> None:
    stack = stack_for_receipts
    body = receipt()
    first = await post_receipt(stack, body)
    assert (first.status, first.json()) == (
        200,
        {"prompt": {"service": "appointments", "reference": "appt-8812"}},
    )
    [row] = await prompts(stack)
    assert (row.service_id, row.reference, row.recipient) == (
        "appointments",
        "appt-8812",
        "+447700900123",
    )
    assert sorted(row.expects) == ["cancel", "confirm"]
    assert row.sent_at.replace(tzinfo=UTC) == SENT
    assert row.expires_at.replace(tzinfo=UTC) == SENT + timedelta(days=7)
    assert (row.text, row.state) == (None, PromptState.OPEN)
    # The service withdraws it (the appointment moved); Notify posts the same receipt again.
    async with stack.sessions.begin() as session:
        stored = await session.get(PromptRow, row.id)
        assert stored is not None
        stored.state = PromptState.WITHDRAWN.value
    again = await post_receipt(stack, body)
    assert again.status == 200
    [after] = await prompts(stack)
    assert (after.id, after.state) == (row.id, PromptState.WITHDRAWN)  # not reopened
    assert await receipts_counted(stack, "prompt") == 2


async def test_a_later_reminder_with_the_same_reference_revises_the_prompt(
    stack_for_receipts: Stack,
) -> None:
    stack = stack_for_receipts
    later = SENT + timedelta(days=1)
    assert (await post_receipt(stack, receipt(sent_at=notify_time(later)))).status == 200
    # The first reminder's receipt, retried by Notify, arrives after the second's.
    assert (await post_receipt(stack, receipt())).status == 200
    [row] = await prompts(stack)
    assert row.sent_at.replace(tzinfo=UTC) == later
    assert row.expires_at.replace(tzinfo=UTC) == later + timedelta(days=7)


async def test_without_a_reference_notifys_id_stands_in(stack_for_receipts: Stack) -> None:
    body = receipt(reference=None)
    answer = await post_receipt(stack_for_receipts, body)
    assert answer.json()["prompt"]["reference"] == body["id"]
    [row] = await prompts(stack_for_receipts)
    assert row.reference == body["id"]


@pytest.mark.parametrize(
    ("changes", "skipped"),
    [
        ({"template_id": UNMAPPED}, "unmapped_template"),
        ({"notification_type": "email", "to": "someone@example.com"}, "not_sms"),
        ({"status": "permanent-failure"}, "not_delivered"),
        ({"status": "temporary-failure"}, "not_delivered"),
    ],
)
async def test_a_receipt_that_is_no_question_is_taken_stores_nothing_and_is_counted(
    stack_for_receipts: Stack, changes: dict[str, Any], skipped: str
) -> None:
    answer = await post_receipt(stack_for_receipts, receipt(**changes))
    assert (answer.status, answer.json()) == (200, {"prompt": None, "skipped": skipped})
    assert await prompts(stack_for_receipts) == []
    assert await receipts_counted(stack_for_receipts, skipped) == 1


@pytest.mark.parametrize(
    ("token", "template", "status", "code"),
    [
        (None, REMINDER, 401, "signature_missing"),
        ("not-the-notify-token", REMINDER, 403, "signature_invalid"),
        (LIBRARY_TOKEN, REMINDER, 403, "signature_invalid"),  # the library's, for the surgery
        (LIBRARY_TOKEN, UNMAPPED, 403, "signature_invalid"),
    ],
)
async def test_a_missing_or_wrong_token_is_refused_with_nothing_stored(
    stack_for_receipts: Stack, token: str | None, template: str, status: int, code: str
) -> None:
    answer = await post_receipt(stack_for_receipts, receipt(template_id=template), token=token)
    assert answer.status == status
    assert answer.json()["error"]["code"] == code
    assert await prompts(stack_for_receipts) == []


async def test_a_services_own_token_is_taken_for_its_own_template(
    stack_for_receipts: Stack,
) -> None:
    body = receipt(template_id=RENEWAL, to="07700 900124", reference="loan-77")
    answer = await post_receipt(stack_for_receipts, body, token=LIBRARY_TOKEN)
    assert answer.status == 200
    [row] = await prompts(stack_for_receipts)
    assert (row.service_id, row.reference, row.recipient) == ("library", "loan-77", "+447700900124")
    assert row.expires_at.replace(tzinfo=UTC) == SENT + timedelta(days=2)


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        (receipt(id=None), 422, "id", "missing required field 'id'"),
        (receipt(template_id="reminder"), 422, "template_id", "template_id is not a UUID"),
        (receipt(created_at="1 December"), 422, "created_at", "created_at is not an ISO 8601"),
        (receipt(to="not a number"), 422, "to", "to is not a phone number"),
        (b"[1, 2]", 400, None, "body must be a JSON object"),
        (b"{not json", 400, None, "body is not valid JSON"),
    ],
)
async def test_a_body_not_of_notifys_shape_names_the_field_and_stores_nothing(
    stack_for_receipts: Stack,
    body: dict[str, Any] | bytes,
    status: int,
    field: str | None,
    message: str,
) -> None:
    answer = await post_receipt(stack_for_receipts, body)
    assert answer.status == status
    error = answer.json()["error"]
    assert error.get("field") == field
    assert error["message"].startswith(message)
    assert await prompts(stack_for_receipts) == []


async def test_the_openapi_document_describes_the_receipts(stack_for_receipts: Stack) -> None:
    document = (await stack_for_receipts.request("GET", "/openapi.json", b"", {})).json()
    operation = document["paths"]["/webhooks/notify-status"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "422", "503"}
    receipt_schema = document["components"]["schemas"]["NotifyDeliveryReceipt"]
    assert set(receipt_schema["properties"]) == set(receipt())


async def test_a_get_is_told_notify_posts(stack_for_receipts: Stack) -> None:
    answer = await stack_for_receipts.request("GET", "/webhooks/notify-status", b"", {})
    assert answer.status == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_stalled_database_is_a_503_within_notifys_5_seconds_and_the_retry_is_stored(
    settings: Settings, tmp_path: Path, pg_url: str
) -> None:
    async with proxied(pg_url, 5432) as (db_proxy, db_url):
        changed = {
            "database_url": db_url,
            "rules_dir": rules_with_templates(tmp_path),
            "notify_inbound_tokens": SecretStr(TOKEN),
        }
        async with running_stack(settings.model_copy(update=changed)) as stack:
            body = receipt()
            db_proxy.stall()
            started = time.monotonic()
            answer = await post_receipt(stack, body)
            took = time.monotonic() - started
            db_proxy.resume()
            assert answer.status == 503  # so Notify tries again in 5 minutes
            assert answer.json()["error"]["code"] == "unavailable"
            assert took < 4.5, took
            retried = await post_receipt(stack, body)
            assert retried.status == 200
            [row] = await prompts(stack)
            assert row.reference == "appt-8812"


async def test_a_reply_to_a_reminder_sent_through_notify_reaches_the_service_with_its_reference(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_notify: FakeNotify,
) -> None:
    """Notify reports the reminder delivered → a prompt → the reply, through the receiver and
    RabbitMQ, answers it → the service's callback names the reminder's reference."""
    monkeypatch.setenv("INBOUND_TEST_RECEIPT_SECRET", CALLBACK_SECRET)
    async with fake_service([200]) as service:
        changed = {
            "rules_dir": rules_with_templates(tmp_path, callback_url=service.url),
            "notify_inbound_tokens": SecretStr(TOKEN),
        }
        async with running_stack(settings.model_copy(update=changed)) as stack:
            # The service sends its reminder with Notify's own client, as it does today.
            notify_service = fake_notify.add_service(
                templates={REMINDER: "Reminder: your appointment is on ((date)). Reply YES"}
            )
            client = NotificationsAPIClient(
                fake_notify.mint_key(notify_service), base_url=fake_notify.url
            )
            await asyncio.to_thread(
                client.send_sms_notification,
                phone_number="07700 900123",
                template_id=REMINDER,
                personalisation={"date": "3 December"},
                reference="appt-8812",
            )
            [reminder] = fake_notify.sent
            url = stack.base_url + "/webhooks/notify-status"
            delivery = await fake_notify.post_delivery_status(url, TOKEN, reminder)
            assert delivery.delivered
            [row] = await prompts(stack)
            assert (row.reference, row.recipient) == ("appt-8812", "+447700900123")

            reply_id = f"gen-{uuid.uuid4().hex[:12]}"
            answer = await stack.post_generic(
                {
                    "id": reply_id,
                    "from": "07700 900123",
                    "to": "+447700900000",
                    "text": "Yes please",
                    "received_at": datetime.now(UTC).isoformat(),
                }
            )
            assert answer.status == 202
            outcome = await eventually(lambda: stack.outcome_for(reply_id), lambda o: o is not None)
            assert outcome is not None
            assert outcome.action == "confirm"
            await eventually(lambda: _count(service.received), lambda n: n >= 1, within=30)
            event = service.received[0].json()
            assert event["action"] == "confirm"
            assert event["prompt"]["reference"] == "appt-8812"
            [answered] = await prompts(stack)
            assert (answered.state, answered.answer_action) == (PromptState.ANSWERED, "confirm")


async def _count(items: list[Any]) -> int:
    return len(items)
