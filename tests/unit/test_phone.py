"""Phone normalisation and masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound import phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+447700900123", "GB", "+447700900123"),
        ("07700 900123", "GB", "+447700900123"),
        ("07700-900-123", "GB", "+447700900123"),
        ("447700900123", None, "+447700900123"),  # Vonage/Sinch: international without +
        ("447700900123", "GB", "+447700900123"),
        ("00447700900123", "US", "+447700900123"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("12015550123", "US", "+12015550123"),
        ("+1 201 555 0123", "GB", "+12015550123"),
        ("60123", "GB", "60123"),  # short code kept
        ("NHSAPP", "GB", "NHSAPP"),  # alphanumeric sender kept
        ("  +447700900123 ", "GB", "+447700900123"),
    ],
)
def test_normalise(raw: str, region: str | None, expected: str) -> None:
    assert phone.normalise(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "   ", "+", "123456789012345678901"])
def test_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(phone.InvalidNumber):
        phone.normalise(raw, "GB")


def test_refusal_message_does_not_repeat_the_number() -> None:
    with pytest.raises(phone.InvalidNumber) as caught:
        phone.normalise("123456789012345678901", "GB")
    assert "123456789012345678901" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [("+447700900123", "+44********23"), ("NHSAPP", "****PP"), ("+4477", "***77"), ("123", "***")],
)
def test_mask(value: str, masked: str) -> None:
    assert phone.mask(value) == masked


def test_is_e164() -> None:
    assert phone.is_e164("+447700900123")
    assert not phone.is_e164("07700900123")
    assert not phone.is_e164("+44 7700 900123")


@given(st.text(max_size=40), st.sampled_from(["GB", "US", None]))
def test_normalise_returns_or_raises_invalid_number(raw: str, region: str | None) -> None:
    try:
        result = phone.normalise(raw, region)
    except phone.InvalidNumber:
        return
    assert result == result.strip()
    assert result


@given(st.from_regex(r"\+44 ?7[0-9]{3} ?[0-9]{6}", fullmatch=True))
def test_masked_numbers_keep_only_prefix_and_last_two(raw: str) -> None:
    number = phone.normalise(raw, "GB")
    masked = phone.mask(number)
    assert masked[:3] == "+44"
    assert masked[-2:] == number[-2:]
    assert number[3:-2] not in masked
