"""`InboundMessage.to_json` writes exactly what `model_dump_json` writes, for any message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from inbound.message import InboundMessage, Part

# Text as providers send it: any Unicode but lone surrogates (refused at the door) and NUL.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60)
FIELD = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))])


@st.composite
def times(draw: st.DrawFn) -> datetime:
    naive = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
    return naive.replace(tzinfo=draw(OFFSETS))


@st.composite
def parts(draw: st.DrawFn) -> Part | None:
    if draw(st.booleans()):
        return None
    total = draw(st.integers(2, 255))
    return Part(reference=draw(FIELD), total=total, number=draw(st.integers(1, total)))


@given(
    provider=FIELD,
    message_id=FIELD,
    sender=FIELD,
    text=TEXT,
    received_at=times(),
    accepted_at=times(),
    part=parts(),
)
def test_to_json_is_model_dump_json_byte_for_byte(
    provider: str,
    message_id: str,
    sender: str,
    text: str,
    received_at: datetime,
    accepted_at: datetime,
    part: Part | None,
) -> None:
    message = InboundMessage(
        provider=provider,
        provider_message_id=message_id,
        sender=sender,
        recipient="+447700900000",
        text=text,
        received_at=received_at,
        accepted_at=accepted_at,
        part=part,
    )
    assert message.to_json() == message.model_dump_json().encode("utf-8")
    assert InboundMessage.model_validate_json(message.to_json()) == message


def test_a_decoded_message_writes_the_same_json_again() -> None:
    sent = InboundMessage(
        provider="twilio",
        provider_message_id="SM1",
        sender="+447700900123",
        recipient="+447700900000",
        text="café ☃ \u202e",
        received_at=datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))),
    )
    decoded = InboundMessage.model_validate_json(sent.to_json())
    assert decoded.to_json() == sent.to_json()
    assert b'"received_at":"2026-06-01T08:30:00Z"' in sent.to_json()
