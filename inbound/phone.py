"""Phone number normalisation and masking. Pure: no I/O."""

from __future__ import annotations

import functools
import re

import phonenumbers

_ALPHANUMERIC = re.compile(r"[A-Za-z]")
_DIGITS_ONLY = re.compile(r"\d+")
# Short codes are 3 to 8 digits; anything that short can't be a full E.164 number.
_SHORT_CODE_MAX = 8
# Results kept by `normalise`. phonenumbers' parse took ~25 µs a number, two numbers a webhook:
# our own (recipient) numbers are a handful and always hit, and people who reply more than once
# hit too. Bounded, so distinct senders can't grow it: ~4,096 short string pairs, about 1 MiB.
_NORMALISED_CACHE_SIZE = 4096


class InvalidNumber(ValueError):
    """A value that should be a phone number isn't one."""


def normalise(raw: str, default_region: str | None = None) -> str:
    """Return E.164 for a phone number; alphanumeric senders and short codes are kept as given.

    Providers send numbers with or without `+` (Vonage, Sinch send `447700900123`), so a bare
    run of digits is tried as international first, then in `default_region`. Raises
    InvalidNumber for anything else (never cached, so it costs the full parse each time).
    """
    return _normalise(raw, default_region)


@functools.lru_cache(maxsize=_NORMALISED_CACHE_SIZE)
def _normalise(raw: str, default_region: str | None) -> str:
    # Pure (phonenumbers' metadata is fixed for the process), so a cached answer is the answer.
    value = raw.strip()
    if not value:
        raise InvalidNumber("empty phone number")
    if _ALPHANUMERIC.search(value):
        return value
    compact = re.sub(r"[\s().-]", "", value)
    if _DIGITS_ONLY.fullmatch(compact) and len(compact) <= _SHORT_CODE_MAX:
        return compact
    candidates: list[tuple[str, str | None]] = []
    if compact.startswith("+"):
        candidates.append((compact, None))
    elif compact.startswith("00"):
        candidates.append(("+" + compact[2:], None))
    else:
        if default_region:
            candidates.append((compact, default_region))
        candidates.append(("+" + compact, None))
    for text, region in candidates:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidNumber(f"not a phone number: {mask(value)}")


def is_e164(value: str) -> bool:
    """True when `value` is already a possible number written in E.164 form.

    "Possible", not "valid": Ofcom's drama ranges (07700 900xxx), used in examples and tests,
    are not allocated and so never "valid".
    """
    if not value.startswith("+"):
        return False
    plain = _plainly_e164(value)
    return _parsed_e164(value) if plain is None else plain


# "+", a country code and up to 14 more digits, none a national prefix: what most numbers are.
_E164_SHAPE = re.compile(r"\+[1-9][0-9]{6,14}")


@functools.cache
def _country(code: int) -> tuple[phonenumbers.PhoneMetadata | None, re.Pattern[str] | None]:
    """A calling code's metadata, and the national prefix phonenumbers would strip."""
    region = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    prefix = metadata.national_prefix_for_parsing if metadata is not None else None
    return metadata, re.compile(prefix) if prefix else None


def _plainly_e164(value: str) -> bool | None:
    """`is_e164` without phonenumbers' parse (25 µs, most of a 100,000-prompt import), for a
    number that parse would take as it is: None when it might not (a national prefix or
    leading 0 after the country code, no known code), and phonenumbers decides.

    The country code is found as parse finds it (the shortest known one), and "possible" is
    phonenumbers' own check of the national number's length, kept per code and length
    (`tests/unit/test_phone.py` compares the two ways over numbers of every country code)."""
    if not _E164_SHAPE.fullmatch(value):
        return None
    for size in (1, 2, 3):
        code = int(value[1 : 1 + size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = value[1 + size :]
    metadata, prefix = _country(code)
    if metadata is None or national.startswith("0") or (prefix and prefix.match(national)):
        return None
    return _possible(code, len(national))


@functools.cache
def _possible(code: int, length: int) -> bool:
    """Whether a national number of this length is possible after this country code:
    phonenumbers' is_possible_number looks at nothing but the length."""
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int("1" * length))
    return bool(phonenumbers.is_possible_number(number))


def _parsed_e164(value: str) -> bool:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed) and (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == value
    )


def mask(value: str) -> str:
    """Hide all but the country prefix and last two digits, for logs and screens."""
    if len(value) <= 4:
        return "*" * len(value)
    # Short values (short codes, sender names) keep only their tail, so no prefix is revealed.
    keep_head = 3 if value.startswith("+") and len(value) >= 8 else 0
    return value[:keep_head] + "*" * (len(value) - keep_head - 2) + value[-2:]
