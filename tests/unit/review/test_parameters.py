"""Query and path parameters of the review pages and the API: what a URL may carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbound.review import parameters
from inbound.review.parameters import BadParameter

WHEN = datetime(2026, 3, 2, 14, 0, 0, 123456, tzinfo=UTC)


def test_a_cursor_round_trips() -> None:
    assert parameters.parse_cursor(parameters.cursor((WHEN, 42))) == (WHEN, 42)


def test_a_cursor_at_the_last_representable_moment_is_still_one() -> None:
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parameters.parse_cursor("253402300799999999_7") == (last, 7)


def test_no_cursor_is_the_first_page() -> None:
    assert parameters.parse_cursor("") is None


@pytest.mark.parametrize(
    "raw",
    [
        "9" * 400,  # the audit's huge cursor: an OverflowError, then a 500
        "253402300800000000_1",  # the first microsecond past the year 9999
        "999999999999999999_1",
        "1_99999999999",  # an id past PostgreSQL's integer
        "1_2147483648",
        "-5_1",
        "5_-1",
        "abc",
        "1_",
        "_1",
        "1_2_3",
        "١٢_3",  # Arabic-Indic digits: str.isdigit() says yes, the cursor says no
        "²_1",
        " 1_2",
        "1.5_2",
        "1_2\x00",
    ],
)
def test_a_cursor_that_cant_be_one_is_a_bad_parameter(raw: str) -> None:
    with pytest.raises(BadParameter) as refused:
        parameters.parse_cursor(raw)
    assert refused.value.name == "after"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("2147483647", 2147483647),
        ("2147483648", None),  # no item, rather than an overflow in PostgreSQL
        ("99999999999", None),
        ("0", None),
        ("-1", None),
        ("1e3", None),
        ("١", None),
        ("", None),
    ],
)
def test_item_id(raw: str, expected: int | None) -> None:
    assert parameters.item_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("", None), ("alpha", "alpha"), ("a-b_2", "a-b_2"), ("x" * 64, "x" * 64)]
)
def test_service(raw: str, expected: str | None) -> None:
    assert parameters.service(raw) == expected


@pytest.mark.parametrize("raw", ["Alpha", "x" * 65, "al pha", "alpha\x00", "-alpha", "ålpha"])
def test_a_service_that_cant_be_one_is_a_bad_parameter(raw: str) -> None:
    with pytest.raises(BadParameter, match="service"):
        parameters.service(raw)


def test_search_words_are_trimmed_and_bounded() -> None:
    assert parameters.search("  lamp  ", "q") == "lamp"
    assert parameters.search("   ", "q") is None
    assert parameters.search("x" * 5000, "q") == "x" * 200


def test_search_with_a_control_character_is_a_bad_parameter() -> None:
    with pytest.raises(BadParameter, match="q: contains a control character"):
        parameters.search("lamp\x00", "q")
