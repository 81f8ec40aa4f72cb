"""Which services nobody can work: `coverage.without_caseworker`, from tables."""

from __future__ import annotations

import pytest

from inbound.review.coverage import Member, warning, without_caseworker

CASE = "caseworker"
ADMIN = "service_admin"


@pytest.mark.parametrize(
    ("services", "members", "expected"),
    [
        (["alpha"], [], ("alpha",)),
        (["alpha"], [Member("alpha", CASE, True)], ()),
        (["alpha"], [Member("alpha", ADMIN, True)], ()),  # a service admin sees the queue too
        (["alpha"], [Member("alpha", CASE, False)], ("alpha",)),  # disabled: can't sign in
        (["alpha"], [Member("beta", CASE, True)], ("alpha",)),  # another service's
        (["alpha"], [Member("alpha", "platform_admin", True)], ("alpha",)),  # not per service
        (
            ["beta", "alpha", "gamma"],
            [Member("beta", CASE, True), Member("gamma", CASE, False)],
            ("alpha", "gamma"),
        ),
        (["alpha", "alpha"], [], ("alpha",)),
        ([], [Member("alpha", CASE, True)], ()),
        (["alpha"], [Member("alpha", CASE, False), Member("alpha", ADMIN, True)], ()),
    ],
)
def test_services_without_an_active_member_are_named(
    services: list[str], members: list[Member], expected: tuple[str, ...]
) -> None:
    assert without_caseworker(services, members) == expected


def test_the_warning_says_what_happens_and_gives_the_command() -> None:
    assert warning("food-bank") == (
        "service 'food-bank' has no caseworker: its review items will reach nobody. "
        "Add one with `inbound users add EMAIL --service food-bank --role caseworker`"
    )
