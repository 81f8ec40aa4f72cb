"""A TOTP code is six ASCII digits of the current step or one either side; anything else is no
match, never an error (a form field can hold any text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from inbound.review.auth import matching_step

SECRET = pyotp.random_base32()
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def code_at(when: datetime) -> str:
    return pyotp.TOTP(SECRET).at(when)


@pytest.mark.parametrize("drift", [-30, 0, 30])
def test_the_current_step_or_one_either_side_matches(drift: int) -> None:
    totp = pyotp.TOTP(SECRET)
    step = matching_step(SECRET, code_at(NOW + timedelta(seconds=drift)), NOW)
    assert step == totp.timecode(NOW + timedelta(seconds=drift))


def test_two_steps_away_does_not_match() -> None:
    assert matching_step(SECRET, code_at(NOW + timedelta(seconds=90)), NOW) is None


def test_spaces_inside_a_typed_code_are_ignored() -> None:
    code = code_at(NOW)
    assert matching_step(SECRET, f" {code[:3]} {code[3:]} ", NOW) is not None


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "１２３４５６", "12345\x00", "😀😀😀😀😀😀"],
)
def test_anything_but_six_ascii_digits_is_no_match(typed: str) -> None:
    # Other scripts' digits pass str.isdigit(); compare_digest would refuse them with a
    # TypeError (a 500), so they must be turned away first.
    assert matching_step(SECRET, typed, NOW) is None
