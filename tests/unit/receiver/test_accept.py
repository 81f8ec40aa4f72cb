"""Turning a provider's parsed message into the canonical one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbound.providers.base import ParsedMessage, PayloadInvalid
from inbound.receiver.accept import to_message

REGIONS = {"+12015550100": "US", "+447700900000": "GB"}


def parsed(sender: str, recipient: str, received_at: datetime | None = None) -> ParsedMessage:
    return ParsedMessage("id-1", sender, recipient, "hello", received_at)


@pytest.mark.parametrize(
    ("sender", "recipient", "expected_sender"),
    [
        ("(201) 555-0123", "+12015550100", "+12015550123"),  # US service: US national format
        ("07700 900123", "+447700900000", "+447700900123"),  # GB service: GB national format
        ("07700 900123", "447700900000", "+447700900123"),  # recipient without +
        ("NHSAPP", "+447700900000", "NHSAPP"),
        ("123", "+447700900000", "123"),  # too short to be a number, kept as sent
    ],
)
def test_sender_is_normalised_in_the_owning_service_region(
    sender: str, recipient: str, expected_sender: str
) -> None:
    message = to_message("generic", parsed(sender, recipient), REGIONS.get, "GB")
    assert message.sender == expected_sender
    assert message.recipient in REGIONS


def test_missing_received_time_is_now() -> None:
    before = datetime.now(UTC)
    message = to_message("generic", parsed("+447700900123", "+447700900000"), REGIONS.get, "GB")
    assert before <= message.received_at <= datetime.now(UTC)


def test_overlong_sender_is_a_422_naming_the_field() -> None:
    with pytest.raises(PayloadInvalid) as caught:
        to_message("generic", parsed("x" * 40, "+447700900000"), REGIONS.get, "GB")
    assert caught.value.field == "from"
