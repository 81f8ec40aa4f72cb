"""Who may change what about whom on a team page, the last-admin rule and invitations: from
tables."""

from __future__ import annotations

import pytest

from inbound.review.team_rules import (
    Admin,
    Change,
    Member,
    invitation_refusals,
    may_manage,
    refusal,
)

ADMIN = Admin(1, {"alpha": "service_admin"}, platform_admin=False)
BOTH = Admin(1, {"alpha": "service_admin", "beta": "service_admin"}, platform_admin=False)
CASEWORKER = Admin(1, {"alpha": "caseworker"}, platform_admin=False)
PLATFORM = Admin(9, {}, platform_admin=True)


def member(
    user_id: int = 2,
    roles: dict[str, str] | None = None,
    *,
    platform_admin: bool = False,
    active: bool = True,
    enrolled: bool = True,
) -> Member:
    return Member(
        user_id,
        f"user{user_id}@alpha.example",
        roles if roles is not None else {"alpha": "caseworker"},
        platform_admin,
        active,
        enrolled,
    )


ME = member(1, {"alpha": "service_admin"})
ANA = member(2)
ANA_ADMIN = member(2, {"alpha": "service_admin"})
ANA_ALSO_BETA = member(2, {"alpha": "caseworker", "beta": "caseworker"})
ANA_DISABLED = member(2, active=False)
ANA_NEW = member(2, enrolled=False)
OPS = member(2, {"alpha": "caseworker"}, platform_admin=True)
ONE = {"alpha": 1}
TWO = {"alpha": 2}


@pytest.mark.parametrize(
    ("admin", "service", "allowed"),
    [
        (ADMIN, "alpha", True),
        (ADMIN, "beta", False),  # another service's admin
        (CASEWORKER, "alpha", False),
        (PLATFORM, "alpha", True),
        (PLATFORM, "beta", True),
    ],
)
def test_who_may_manage_a_team(admin: Admin, service: str, allowed: bool) -> None:
    assert may_manage(admin, service) is allowed


@pytest.mark.parametrize(
    ("admin", "change", "whom", "admins", "new_role", "expected"),
    [
        # Allowed.
        (ADMIN, Change.ROLE, ANA, ONE, "service_admin", None),
        (ADMIN, Change.ROLE, ANA_ADMIN, TWO, "caseworker", None),
        (ADMIN, Change.DISABLE, ANA, ONE, None, None),
        (ADMIN, Change.ENABLE, ANA_DISABLED, ONE, None, None),
        (ADMIN, Change.RESET_TWO_FACTOR, ANA, ONE, None, None),
        (ADMIN, Change.RESET_TWO_FACTOR, ME, ONE, None, None),  # your own: you enrol again
        (ADMIN, Change.DISABLE, ME, TWO, None, None),  # another admin is left
        (ADMIN, Change.ROLE, ME, TWO, "caseworker", None),
        (BOTH, Change.DISABLE, ANA_ALSO_BETA, ONE, None, None),  # every service is theirs
        (PLATFORM, Change.DISABLE, OPS, ONE, None, None),
        (PLATFORM, Change.ROLE, ANA_ALSO_BETA, ONE, "service_admin", None),
        (ADMIN, Change.ROLE, ANA_ALSO_BETA, ONE, "service_admin", None),  # alpha's role only
        (
            ADMIN,
            Change.DISABLE,
            member(2, {"alpha": "service_admin"}, active=False),
            ONE,
            None,
            "is already disabled",
        ),
        # The last active admin.
        (
            ADMIN,
            Change.ROLE,
            ME,
            ONE,
            "caseworker",
            "You are the only active service admin of alpha",
        ),
        (ADMIN, Change.DISABLE, ME, ONE, None, "You are the only active service admin of alpha"),
        (
            PLATFORM,
            Change.DISABLE,
            ANA_ADMIN,
            ONE,
            None,
            "user2@alpha.example is the only active service admin of alpha",
        ),
        (
            BOTH,
            Change.DISABLE,
            member(2, {"alpha": "service_admin", "beta": "service_admin"}),
            {"alpha": 2, "beta": 1},
            None,
            "the only active service admin of beta",
        ),
        # The account reaches beyond the admin's services.
        (ADMIN, Change.DISABLE, ANA_ALSO_BETA, ONE, None, "also works in beta"),
        (ADMIN, Change.RESET_TWO_FACTOR, ANA_ALSO_BETA, ONE, None, "also works in beta"),
        (
            ADMIN,
            Change.ENABLE,
            member(2, {"alpha": "caseworker", "beta": "x"}, active=False),
            ONE,
            None,
            "also works in beta",
        ),
        (ADMIN, Change.DISABLE, OPS, ONE, None, "is a platform admin"),
        # Nothing to change.
        (ADMIN, Change.DISABLE, ANA_DISABLED, ONE, None, "is already disabled"),
        (ADMIN, Change.ENABLE, ANA, ONE, None, "is not disabled"),
        (ADMIN, Change.RESET_TWO_FACTOR, ANA_NEW, ONE, None, "has not set up two-factor yet"),
        (ADMIN, Change.ROLE, ANA, ONE, "caseworker", "is already a caseworker"),
        (ADMIN, Change.ROLE, ANA, ONE, "platform_admin", "Select a role"),
        (ADMIN, Change.ROLE, ANA, ONE, None, "Select a role"),
    ],
)
def test_what_an_admin_may_change(
    admin: Admin,
    change: Change,
    whom: Member,
    admins: dict[str, int],
    new_role: str | None,
    expected: str | None,
) -> None:
    found = refusal(admin, "alpha", change, whom, admins, new_role)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert expected in str(found)


def test_a_role_refusal_names_the_role_field_and_a_disabling_one_none() -> None:
    demote = refusal(ADMIN, "alpha", Change.ROLE, ME, ONE, "caseworker")
    disable = refusal(ADMIN, "alpha", Change.DISABLE, ME, ONE)
    assert demote is not None
    assert demote.field == "role"
    assert disable is not None
    assert disable.field is None
    assert "make someone else a service admin first" in str(disable)


@pytest.mark.parametrize(
    ("email", "role", "member_role", "removed", "expected"),
    [
        ("new@alpha.example", "caseworker", None, False, []),
        ("new@alpha.example", "service_admin", None, False, []),
        ("", "caseworker", None, False, [("email", "Enter their email address")]),
        ("new", "caseworker", None, False, [("email", "correct format")]),
        ("new@alpha", "caseworker", None, False, [("email", "correct format")]),
        ("a b@alpha.example", "caseworker", None, False, [("email", "correct format")]),
        ("a@b@alpha.example", "caseworker", None, False, [("email", "correct format")]),
        ("new\x00@alpha.example", "caseworker", None, False, [("email", "at most 254")]),
        ("x" * 250 + "@a.example", "caseworker", None, False, [("email", "at most 254")]),
        ("new@alpha.example", "", None, False, [("role", "Select a role")]),
        ("new@alpha.example", "platform_admin", None, False, [("role", "Select a role")]),
        ("", "", None, False, [("email", "Enter their email"), ("role", "Select a role")]),
        (
            "ana@alpha.example",
            "caseworker",
            "caseworker",
            False,
            [("email", "already in this team")],
        ),
        ("removed-3@removed.invalid", "caseworker", None, True, [("email", "removed account")]),
    ],
)
def test_an_invitation(
    email: str,
    role: str,
    member_role: str | None,
    removed: bool,
    expected: list[tuple[str, str]],
) -> None:
    found = invitation_refusals(email, role, member_role, removed)
    assert [error.field for error in found] == [field for field, _ in expected]
    for error, (_, words) in zip(found, expected, strict=True):
        assert words in str(error)
