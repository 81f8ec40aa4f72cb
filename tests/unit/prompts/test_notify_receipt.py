"""Which GOV.UK Notify delivery receipts become prompts, and how a receipt's fields are read:
a table of receipts and what each makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inbound.prompts.model import Prompt
from inbound.prompts.notify_receipt import Skipped, prompt_for, read_receipt
from inbound.providers.base import PayloadInvalid
from inbound.rules.load import load_file
from inbound.rules.model import Action, RuleBook

TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
UNMAPPED = "aaaaaaaa-0000-4000-8000-000000000000"
NOTIFICATION = "740e5834-3a29-46b4-9a6f-16142fde533a"
SENT = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> RuleBook:
    path: Path = tmp_path_factory.mktemp("rules") / "library.yaml"
    path.write_text(
        f"""\
service: {{id: library, name: Town library, region: GB, numbers: ["+447700900111"]}}
rules:
  - {{name: renew, keywords: ["yes"], action: confirm}}
  - {{name: cancel, keywords: [cancel], action: cancel}}
prompts:
  templates:
    {TEMPLATE}: {{expects: [confirm, cancel], expires_after: 7d}}
""",
        encoding="utf-8",
    )
    return RuleBook([load_file(path)])


def receipt(**changes: Any) -> dict[str, Any]:
    """A delivery receipt as Notify posts it (its documentation's example, ours filled in)."""
    body: dict[str, Any] = {
        "id": NOTIFICATION,
        "reference": "appt-8812",
        "to": "07700 900123",
        "status": "delivered",
        "created_at": "2026-12-01T09:00:00.000000Z",
        "completed_at": "2026-12-01T09:00:12.000000Z",
        "sent_at": "2026-12-01T09:00:05.000000Z",
        "notification_type": "sms",
        "template_id": TEMPLATE,
        "template_version": 3,
    }
    body.update(changes)
    return body


def the_prompt(reference: str = "appt-8812", sent_at: datetime = SENT) -> Prompt:
    return Prompt(
        service="library",
        recipient="+447700900123",
        reference=reference,
        expects=frozenset({Action.confirm, Action.cancel}),
        sent_at=sent_at,
        expires_at=sent_at + timedelta(days=7),
        text=None,
    )


@pytest.mark.parametrize(
    ("changes", "made"),
    [
        ({}, the_prompt()),
        ({"template_id": TEMPLATE.upper()}, the_prompt()),
        ({"to": "+447700900123"}, the_prompt()),
        ({"to": "447700900123"}, the_prompt()),  # international without + (GB region)
        # No reference from the service: Notify's id for the message stands in for it.
        ({"reference": None}, the_prompt(NOTIFICATION)),
        ({"reference": "  "}, the_prompt(NOTIFICATION)),
        # No sent_at: the time the service asked Notify to send it.
        ({"sent_at": None}, the_prompt(sent_at=SENT - timedelta(seconds=5))),
        ({"status": "DELIVERED"}, the_prompt()),
        ({"notification_type": "email", "to": "someone@example.com"}, Skipped.NOT_SMS),
        ({"notification_type": "letter"}, Skipped.NOT_SMS),
        ({"template_id": UNMAPPED}, Skipped.UNMAPPED),
        ({"template_id": UNMAPPED, "status": "permanent-failure"}, Skipped.UNMAPPED),
        # Failures: the person never got the question, and a prompt stored from an earlier,
        # delivered text with the same reference still stands (nothing is withdrawn).
        ({"status": "permanent-failure"}, Skipped.NOT_DELIVERED),
        ({"status": "temporary-failure"}, Skipped.NOT_DELIVERED),
        ({"status": "technical-failure"}, Skipped.NOT_DELIVERED),
        ({"status": "sending"}, Skipped.NOT_DELIVERED),  # not final: never a callback, but safe
    ],
)
def test_a_receipt_makes_a_prompt_or_says_why_not(
    book: RuleBook, changes: dict[str, Any], made: Prompt | Skipped
) -> None:
    assert prompt_for(read_receipt(receipt(**changes)), book) == made


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"id": None}, "id", "missing required field 'id'"),
        ({"id": "12345"}, "id", "id is not a UUID"),
        ({"template_id": 7}, "template_id", "template_id must be a string"),
        ({"template_id": "welcome"}, "template_id", "template_id is not a UUID"),
        ({"to": ""}, "to", "to is empty"),
        ({"status": None}, "status", "missing required field 'status'"),
        ({"notification_type": None}, "notification_type", "missing required field"),
        ({"created_at": None}, "created_at", "missing required field 'created_at'"),
        ({"sent_at": "yesterday"}, "sent_at", "sent_at is not an ISO 8601 time"),
        ({"sent_at": "2026-12-01T09:00:05"}, "sent_at", "sent_at has no time zone offset"),
        ({"reference": 8812}, "reference", "reference must be a string"),
    ],
)
def test_a_receipt_not_of_notifys_shape_names_the_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        read_receipt(receipt(**changes))
    assert raised.value.field == field
    assert raised.value.message.startswith(message)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"to": "not a number"}, "to", "to is not a phone number (read in library's region, GB)"),
        ({"reference": "x" * 201}, "reference", "reference is longer than 200 characters"),
        ({"reference": "appt\n8812"}, "reference", "reference has a control character"),
    ],
)
def test_a_delivered_mapped_text_with_unusable_values_names_the_field(
    book: RuleBook, changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        prompt_for(read_receipt(receipt(**changes)), book)
    assert raised.value.field == field
    assert raised.value.message == message


def test_the_first_wrong_field_in_notifys_order_is_the_one_named() -> None:
    with pytest.raises(PayloadInvalid) as raised:
        read_receipt({"id": "not-a-uuid"})
    assert raised.value.field == "id"


def test_an_email_is_skipped_before_its_address_is_read_as_a_number(book: RuleBook) -> None:
    email = receipt(notification_type="email", to="someone@example.com")
    assert prompt_for(read_receipt(email), book) is Skipped.NOT_SMS
