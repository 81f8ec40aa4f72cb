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


def _numbers_of_every_country_code() -> list[str]:
    """Random numbers in E.164's shape after each country code, 7 to 15 digits long: possible,
    too short, too long, with national prefixes and leading zeros."""
    import random

    import phonenumbers

    draw = random.Random(164)
    numbers = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(7, 16):
            rest = length - len(str(code))
            numbers += [
                f"+{code}{draw.randrange(10**rest):0{rest}d}" for _ in range(6) if rest >= 0
            ]
    return numbers


def test_is_e164_without_parsing_agrees_with_phonenumbers_parse() -> None:
    """The quick check decides most numbers, and decides each as phonenumbers' parse and
    format do."""
    numbers = _numbers_of_every_country_code()
    decided = {n: phone._plainly_e164(n) for n in numbers}
    assert sum(answer is not None for answer in decided.values()) > len(numbers) * 3 // 4
    assert {n: a for n, a in decided.items() if a is not None} == {
        n: phone._parsed_e164(n) for n, a in decided.items() if a is not None
    }
    assert {n: phone.is_e164(n) for n in numbers} == {n: phone._parsed_e164(n) for n in numbers}


@pytest.mark.parametrize(
    ("value", "quick", "e164"),
    [
        ("+447700900123", True, True),
        ("+12025550100", True, True),
        ("+4477009001234", False, False),  # one digit too many for the UK
        ("+4407700900123", None, False),  # a national 0 after the code: phonenumbers decides
        ("+11234567890", None, True),  # US numbers' national prefix 1: phonenumbers decides
        ("+44 7700 900123", None, False),  # not E.164's shape
    ],
)
def test_is_e164_decides_the_usual_numbers_without_parsing(
    value: str, quick: bool | None, e164: bool
) -> None:
    assert phone._plainly_e164(value) is quick
    assert phone.is_e164(value) is e164
