"""Who may see and change an opt-out register, and reading what is typed into its forms."""

from __future__ import annotations

import pytest

from inbound.review.opt_out_rules import (
    LONGEST_REASON,
    PER_PAGE,
    RegisterError,
    Viewer,
    may_opt_back_in,
    may_view,
    page_count,
    page_number,
    pages_shown,
    reason,
    searched_number,
)

CASEWORKER = Viewer({"alpha": "caseworker"}, platform_admin=False)
ADMIN = Viewer({"alpha": "service_admin", "beta": "caseworker"}, platform_admin=False)
PLATFORM = Viewer({}, platform_admin=True)


@pytest.mark.parametrize(
    ("viewer", "service", "view", "opt_in"),
    [
        (CASEWORKER, "alpha", True, False),
        (CASEWORKER, "beta", False, False),
        (ADMIN, "alpha", True, True),
        (ADMIN, "beta", True, False),  # a caseworker there
        (ADMIN, "gamma", False, False),
        (PLATFORM, "gamma", True, True),
    ],
)
def test_members_see_the_register_and_admins_opt_back_in(
    viewer: Viewer, service: str, view: bool, opt_in: bool
) -> None:
    assert may_view(viewer, service) is view
    assert may_opt_back_in(viewer, service) is opt_in


@pytest.mark.parametrize(
    ("typed", "region", "number"),
    [
        ("07700 900123", "GB", "+447700900123"),
        ("+44 7700 900123", "GB", "+447700900123"),
        (" 0044 7700 900123 ", "GB", "+447700900123"),
        ("(07700) 900-123", "GB", "+447700900123"),
        ("447700900123", "GB", "+447700900123"),
        ("+1 202 555 0143", "GB", "+12025550143"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("06 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_a_number_is_read_however_it_is_written_in_the_services_region(
    typed: str, region: str, number: str
) -> None:
    assert searched_number(typed, region) == number


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a phone number"),
        ("   ", "Enter a phone number"),
        ("call me", "Enter a phone number, like 07700 900123 or +44 7700 900123"),
        ("0770", "Enter a phone number, like 07700 900123 or +44 7700 900123"),
        ("12345", "Enter a phone number, like 07700 900123 or +44 7700 900123"),  # a short code
        ("0" * 41, "Enter a phone number, like 07700 900123"),
        ("07700\x00900123", "Enter a phone number, like 07700 900123"),
    ],
)
def test_what_cant_be_a_number_says_so_for_the_number_field(typed: str, message: str) -> None:
    with pytest.raises(RegisterError) as refused:
        searched_number(typed, "GB")
    assert str(refused.value) == message
    assert refused.value.field == "number"


def test_a_reason_is_required_trimmed_and_bounded() -> None:
    assert reason("  They asked by phone \n") == "They asked by phone"
    for typed, message in [
        (" \n ", "Enter why this number is being opted back in"),
        ("x" * (LONGEST_REASON + 1), f"The reason must be {LONGEST_REASON} characters or fewer"),
        ("they\x07 asked", "The reason contains a character no one types: remove it"),
    ]:
        with pytest.raises(RegisterError) as refused:
            reason(typed)
        assert (str(refused.value), refused.value.field) == (message, "reason")


@pytest.mark.parametrize(
    ("raw", "page"),
    [("", 1), ("1", 1), ("12", 12), ("0", None), ("-1", None), ("two", None), ("１", None)],
)
def test_a_page_number_from_the_query(raw: str, page: int | None) -> None:
    assert page_number(raw) == page


@pytest.mark.parametrize(
    ("total", "pages"), [(0, 1), (1, 1), (PER_PAGE, 1), (PER_PAGE + 1, 2), (PER_PAGE * 3, 3)]
)
def test_page_count(total: int, pages: int) -> None:
    assert page_count(total) == pages


@pytest.mark.parametrize(
    ("current", "last", "shown"),
    [
        (1, 1, [1]),
        (1, 2, [1, 2]),
        (3, 5, [1, 2, 3, 4, 5]),
        (5, 10, [1, None, 4, 5, 6, None, 10]),
        (1, 10, [1, 2, None, 10]),
        (10, 10, [1, None, 9, 10]),
    ],
)
def test_the_pages_linked_with_ellipses_between(
    current: int, last: int, shown: list[int | None]
) -> None:
    assert pages_shown(current, last) == shown
