"""Who may change what about whom on a service's team page, and the last-admin rule. Pure.

A service admin manages the people of their own service; a platform admin, anyone's. A role is
per service, but an account is one for all services: disabling it, enabling it or resetting its
two-factor reaches every service the person works in, so an admin may do those only to someone
whose every role is in services they administer (a platform admin: to anyone). No change may
leave a service with no active service admin: someone must be able to manage its team.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from inbound.review.decisions import control_character

# The roles the team page gives; platform_admin is given with `inbound users` only.
SERVICE_ROLES = ("caseworker", "service_admin")
ROLE_WORDS: Mapping[str, str] = {"caseworker": "Caseworker", "service_admin": "Service admin"}
LONGEST_EMAIL = 254  # RFC 5321, and the column's size
# One @, something either side, a dot in the domain, no spaces: what GOV.UK's pattern asks.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Change(StrEnum):
    """What an admin may do to a member (the URL segment of its page)."""

    ROLE = "role"  # caseworker <-> service admin, in this service only
    DISABLE = "disable"  # no sign-in anywhere; sessions end, tokens are revoked
    ENABLE = "enable"  # sign-in again
    RESET_TWO_FACTOR = "reset-two-factor"  # they enrol a new authenticator at next sign-in


# The changes that reach the whole account, not only this service's role.
ACCOUNT_WIDE = frozenset({Change.DISABLE, Change.ENABLE, Change.RESET_TWO_FACTOR})


@dataclass(frozen=True)
class Admin:
    """The person making the change."""

    user_id: int
    roles: Mapping[str, str]  # service id -> role
    platform_admin: bool


@dataclass(frozen=True)
class Member:
    """The person a change is made to, as it stands."""

    user_id: int
    email: str
    roles: Mapping[str, str]  # every service they work in -> role
    platform_admin: bool
    active: bool  # False when the account is disabled
    enrolled: bool  # has a two-factor key


class TeamError(Exception):
    """A change or an invitation refused; the message says why and what to do instead, and
    `field`, when set, names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def may_manage(admin: Admin, service_id: str) -> bool:
    """True when the admin may see and change this service's team."""
    return admin.platform_admin or admin.roles.get(service_id) == "service_admin"


def role_in_words(role: str) -> str:
    return ROLE_WORDS.get(role, role.replace("_", " ").capitalize())


def refusal(
    admin: Admin,
    service_id: str,
    change: Change,
    member: Member,
    active_admins: Mapping[str, int],
    new_role: str | None = None,
) -> TeamError | None:
    """Why `change` can't be made to `member` of `service_id` by `admin`, or None when it can.

    `active_admins` counts the active service admins of each of the member's services, the
    member included. The caller has checked `may_manage` and that the member is in the team.
    """
    you = member.user_id == admin.user_id
    who = "You" if you else member.email
    if change is Change.ROLE:
        if new_role not in SERVICE_ROLES:
            return TeamError("Select a role", "role")
        if member.roles.get(service_id) == new_role:
            are = "are" if you else "is"
            return TeamError(f"{who} {are} already a {role_in_words(new_role).lower()}", "role")
    if change in ACCOUNT_WIDE and not admin.platform_admin:
        elsewhere = sorted(s for s in member.roles if admin.roles.get(s) != "service_admin")
        if member.platform_admin or elsewhere:
            what = (
                "is a platform admin"
                if member.platform_admin
                else "also works in " + ", ".join(elsewhere)
            )
            return TeamError(
                f"{member.email} {what}, and this changes their account everywhere: ask a "
                "platform admin"
            )
    if change is Change.DISABLE and not member.active:
        return TeamError(f"{member.email} is already disabled")
    if change is Change.ENABLE and member.active:
        return TeamError(f"{member.email} is not disabled")
    if change is Change.RESET_TWO_FACTOR and not member.enrolled:
        return TeamError(
            f"{member.email} has not set up two-factor yet: they do so at their next sign-in"
        )
    return _last_admin(service_id, change, member, active_admins, new_role, who)


def _last_admin(
    service_id: str,
    change: Change,
    member: Member,
    active_admins: Mapping[str, int],
    new_role: str | None,
    who: str,
) -> TeamError | None:
    """A demotion or a disabling that would leave a service no active service admin."""
    if not member.active:
        return None
    if change is Change.ROLE and new_role != "service_admin":
        losing = [service_id] if member.roles.get(service_id) == "service_admin" else []
    elif change is Change.DISABLE:
        losing = sorted(s for s, role in member.roles.items() if role == "service_admin")
    else:
        return None
    alone = [s for s in losing if active_admins.get(s, 0) <= 1]
    if not alone:
        return None
    are = "are" if who == "You" else "is"
    return TeamError(
        f"{who} {are} the only active service admin of {', '.join(alone)}: make someone else a "
        "service admin first, so someone can still manage the team",
        "role" if change is Change.ROLE else None,
    )


def invitation_refusals(
    email: str, role: str, member_role: str | None, removed: bool
) -> list[TeamError]:
    """Why this invitation can't be made: at most one error per field, email first; empty when
    it can. `email` as stored (`normal_email`); `member_role` is their role in this service if
    they have one already."""
    errors = [found] if (found := _email_refusal(email, member_role, removed)) else []
    if role not in SERVICE_ROLES:
        errors.append(TeamError("Select a role", "role"))
    return errors


def _email_refusal(email: str, member_role: str | None, removed: bool) -> TeamError | None:
    if not email:
        return TeamError("Enter their email address", "email")
    if len(email) > LONGEST_EMAIL or control_character(email) is not None:
        return TeamError(
            f"Enter an email address of at most {LONGEST_EMAIL} characters, like name@example.com",
            "email",
        )
    if EMAIL.fullmatch(email) is None:
        return TeamError(
            "Enter an email address in the correct format, like name@example.com", "email"
        )
    if removed:
        return TeamError(f"{email} belonged to a removed account: enter another address", "email")
    if member_role is not None:
        return TeamError(
            f"{email} is already in this team as a {role_in_words(member_role).lower()}: "
            "change their role in the list instead",
            "email",
        )
    return None


class InvitationRefused(Exception):
    """An invitation with something to put right in one or more fields."""

    def __init__(self, errors: list[TeamError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


def normal_email(typed: str) -> str:
    """An address as it is stored: trimmed, lower case (as `inbound users add` stores it)."""
    return typed.strip().lower()
