"""The received-texts API's values in GOV.UK Notify's shape (inbound.received_texts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound import received_texts
from inbound.notify_keys import service_uuid
from inbound.received_texts import ReceivedText

NOTIFY_ID = "b51f638b-4295-46e0-a06e-cd41eee7c33b"


def text(**changes: object) -> ReceivedText:
    fields: dict[str, object] = {
        "row_id": 42,
        "provider": "twilio",
        "provider_message_id": "SM123",
        "sender": "+447700900123",
        "recipient": "+447700900456",
        "service_id": "appointments",
        "content": "YES",
        "received_at": datetime(2026, 11, 30, 9, 15, 4, 123456, tzinfo=UTC),
        "status": "processed",
        "action": "confirm",
        "rule": "yes",
        "review_state": None,
        "prompt_reference": "appt-8812",
    }
    fields.update(changes)
    return ReceivedText(**fields)  # type: ignore[arg-type]


@given(st.integers(min_value=1, max_value=(1 << 62) - 1))
def test_a_rows_uuid_reads_back_as_the_row(row: int) -> None:
    made = received_texts.message_uuid(row)
    assert made.version == 8
    assert made.variant == uuid.RFC_4122
    assert received_texts.row_id(uuid.UUID(str(made))) == row


def test_a_notify_id_or_any_other_uuid_is_no_row() -> None:
    assert received_texts.row_id(uuid.UUID(NOTIFY_ID)) is None
    assert received_texts.row_id(uuid.uuid4()) is None
    assert received_texts.row_id(uuid.UUID(int=0)) is None


def test_a_text_that_came_through_notify_keeps_notifys_id() -> None:
    assert text(provider="notify", provider_message_id=NOTIFY_ID).id == uuid.UUID(NOTIFY_ID)
    assert text().id == received_texts.message_uuid(42)
    # A Notify id that is not a UUID (never seen) still gets one.
    assert text(provider="notify", provider_message_id="x").id == received_texts.message_uuid(42)


@pytest.mark.parametrize(
    ("recipient", "shown"),
    [("+447700900456", "07700900456"), ("+14155550100", "14155550100"), ("60022", "60022")],
)
def test_notify_number_is_national_for_uk_numbers(recipient: str, shown: str) -> None:
    assert received_texts.notify_number(recipient) == shown


def test_a_message_has_notifys_fields_then_inbounds() -> None:
    shown = received_texts.message_json(text())
    assert shown == {
        "id": str(received_texts.message_uuid(42)),
        "user_number": "447700900123",
        "notify_number": "07700900456",
        "created_at": "2026-11-30T09:15:04.123456Z",
        "service_id": str(service_uuid("appointments")),
        "content": "YES",
        "inbound": {
            "service": "appointments",
            "provider": "twilio",
            "outcome": "processed",
            "action": "confirm",
            "rule": "yes",
            "review_state": None,
            "prompt_reference": "appt-8812",
        },
    }


def test_next_is_older_than_the_last_and_absent_on_an_empty_page() -> None:
    base = "http://inbound.example/v2/received-text-messages"
    page = received_texts.page_json([text(row_id=9), text(row_id=7)], base, base)
    assert page["links"] == {
        "current": base,
        "next": f"{base}?older_than={received_texts.message_uuid(7)}",
    }
    assert received_texts.page_json([], base, base) == {
        "received_text_messages": [],
        "links": {"current": base},
    }
