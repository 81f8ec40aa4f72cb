"""GOV.UK Notify's received-text callback, and the one function the backfill poller shares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbound.providers.base import PayloadInvalid
from inbound.providers.notify import received_text

NOTIFY_ID = "bfd4a5c2-0f1e-4f6c-9b1a-4a4b3f3f3f3f"


def test_received_text_keeps_notifys_id_and_writes_numbers_in_e164() -> None:
    parsed = received_text(
        NOTIFY_ID, "447700900123", "07700900456", "Yes please", "2026-07-14T12:15:30.000000Z"
    )
    assert parsed.provider_message_id == NOTIFY_ID
    assert parsed.sender == "+447700900123"
    assert parsed.recipient == "+447700900456"
    assert parsed.text == "Yes please"
    # UTC as Notify writes it: July is summer time in London, and nothing is taken off.
    assert parsed.received_at == datetime(2026, 7, 14, 12, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("date_received", "expected"),
    [
        ("2026-01-02T03:04:05.123456Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2026-07-02T03:04:05.000000Z", datetime(2026, 7, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-07-02T03:04:05", datetime(2026, 7, 2, 3, 4, 5, tzinfo=UTC)),  # naive is UTC
        ("2026-07-02T04:04:05+01:00", datetime(2026, 7, 2, 3, 4, 5, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_date_received_is_read_as_utc(date_received: str | None, expected: datetime | None) -> None:
    parsed = received_text(NOTIFY_ID, "447700900123", "07700900456", "hi", date_received)
    assert parsed.received_at == expected


@pytest.mark.parametrize(
    ("source", "destination", "region", "sender", "recipient"),
    [
        ("447700900123", "07700900456", "GB", "+447700900123", "+447700900456"),
        ("+447700900123", "07700900456", "GB", "+447700900123", "+447700900456"),
        ("353851234567", "07700900456", "GB", "+353851234567", "+447700900456"),  # Irish phone
        ("447797123456", "07797900456", "JE", "+447797123456", "+447797900456"),  # Jersey service
        ("not a number", "07700900456", "GB", "not a number", "+447700900456"),  # kept as given
    ],
)
def test_numbers_are_read_as_notify_writes_them(
    source: str, destination: str, region: str, sender: str, recipient: str
) -> None:
    parsed = received_text(NOTIFY_ID, source, destination, "hi", None, region=region)
    assert (parsed.sender, parsed.recipient) == (sender, recipient)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (("", "447700900123", "07700900456", "hi", None), "id"),
        ((NOTIFY_ID, " ", "07700900456", "hi", None), "source_number"),
        ((NOTIFY_ID, "447700900123", "", "hi", None), "destination_number"),
        ((NOTIFY_ID, "447700900123", "07700900456", "hi", "yesterday"), "date_received"),
    ],
)
def test_an_unusable_value_is_refused_naming_notifys_field(
    fields: tuple[str, str, str, str, str | None], field: str
) -> None:
    with pytest.raises(PayloadInvalid) as refused:
        received_text(*fields)
    assert refused.value.field == field
