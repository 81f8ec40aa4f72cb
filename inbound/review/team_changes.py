"""Use cases of the team page: see a service's team, invite someone, change a role, disable,
enable, reset two-factor. Each is one transaction, decided by `team_rules` and audited with who
made the change (user_id), to whom (subject, and `user #id` in detail) and in which service. A
service the user may not manage, or a member not in its team, is `NotFound`, audited as
`denied`, exactly like a service that doesn't exist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from inbound.review import auth
from inbound.review.desk import Desk, NotFound
from inbound.review.security_events import Denied
from inbound.review.team_rules import (
    Admin,
    Change,
    InvitationRefused,
    Member,
    TeamError,
    invitation_refusals,
    may_manage,
    normal_email,
    refusal,
    role_in_words,
)
from inbound.store.team import Team, TeamMember
from inbound.store.users import Audit, Scope, Users, is_removed

# The audit log's name of each change made on the team page.
AUDITED = {
    Change.ROLE: "member_role_changed",
    Change.DISABLE: "member_disabled",
    Change.ENABLE: "member_enabled",
    Change.RESET_TWO_FACTOR: "member_two_factor_reset",
}


@dataclass(frozen=True)
class Invited:
    """An invitation made: the initial password only when a new account was made."""

    email: str
    role: str
    password: str | None  # shown once, never stored in clear
    disabled: bool  # an existing account that is disabled


def admin_of(scope: Scope) -> Admin:
    return Admin(scope.user_id, scope.roles, scope.unassigned)


def member_of(found: TeamMember) -> Member:
    return Member(
        found.user_id,
        found.email,
        found.roles,
        found.platform_admin,
        found.disabled_at is None,
        found.enrolled,
    )


def manageable(desk: Desk, scope: Scope) -> list[str]:
    """The services whose team this user may manage, among those the rules know."""
    admin = admin_of(scope)
    return sorted(s for s in desk.rules().book.services if may_manage(admin, s))


async def team(desk: Desk, scope: Scope, service_id: str, address: str | None) -> list[TeamMember]:
    """The service's members (audited as view_team); NotFound outside the user's admin."""
    await _allowed(desk, scope, service_id, address, "team")
    async with desk.sessions.begin() as session:
        members = await Team(session).members(service_id)
        await Audit(session).record(
            "view_team", user_id=scope.user_id, service_id=service_id, address=address
        )
    return members


async def member(
    desk: Desk, scope: Scope, service_id: str, user_id: int, address: str | None
) -> TeamMember:
    """One member of the service's team; NotFound outside it or the user's admin."""
    await _allowed(desk, scope, service_id, address, f"team member #{user_id}")
    async with desk.sessions.begin() as session:
        found = await _find(Team(session), service_id, user_id)
    if found is None:
        await _denied(desk, scope, service_id, address, f"team member #{user_id}")
    assert found is not None
    return found


async def invite(
    desk: Desk, scope: Scope, service_id: str, typed_email: str, role: str, address: str | None
) -> Invited:
    """Give someone a role in the service: a new account with a one-time initial password (they
    enrol two-factor at their first sign-in), or a role for an existing account."""
    await _allowed(desk, scope, service_id, address, "invite")
    email = normal_email(typed_email)
    # Hashed before the transaction and off the event loop: argon2 takes a tenth of a second.
    password = auth.new_password()
    hashed = await asyncio.to_thread(auth.hash_password, password)
    async with desk.sessions.begin() as session:
        await Team(session).lock()
        users = Users(session)
        existing = await users.by_email(email) if email else None
        current = (await users.scope(existing)).roles.get(service_id) if existing else None
        problems = invitation_refusals(
            email, role, current, existing is not None and is_removed(existing)
        )
        if problems:
            raise InvitationRefused(problems)
        user = existing or await users.add(email, hashed)
        await users.grant(user, service_id, role)
        await Audit(session).record(
            "member_invited",
            user_id=scope.user_id,
            service_id=service_id,
            subject=email,
            address=address,
            detail=f"user #{user.id} as {role}; "
            + ("new account, initial password shown once" if existing is None else "existing"),
        )
        disabled = user.disabled_at is not None
    return Invited(email, role, password if existing is None else None, disabled)


async def change(
    desk: Desk,
    scope: Scope,
    service_id: str,
    user_id: int,
    what: Change,
    address: str | None,
    new_role: str | None = None,
) -> TeamMember:
    """Make one change to a member; TeamError (why) when the rules refuse it. Returns the
    member as they were."""
    await _allowed(desk, scope, service_id, address, f"{what} member #{user_id}")
    now = datetime.now(UTC)
    async with desk.sessions.begin() as session:
        members = Team(session)
        await members.lock()
        found = await _find(members, service_id, user_id)
        if found is not None:
            admins = await members.active_admins(sorted(found.roles))
            problem = refusal(admin_of(scope), service_id, what, member_of(found), admins, new_role)
            if problem is not None:
                raise problem
            users = Users(session)
            user = await users.get(user_id)
            assert user is not None
            if what is Change.ROLE:
                assert new_role is not None
                await users.grant(user, service_id, new_role)
                detail = f"{role_in_words(found.role)} to {role_in_words(new_role)}".lower()
            elif what is Change.DISABLE:
                revoked = await users.disable(user, now)
                detail = f"sessions ended, {revoked} tokens revoked"
            elif what is Change.ENABLE:
                await users.enable(user)
                detail = "sign-in allowed again"
            else:
                revoked = await users.reset_two_factor(user, now)
                detail = f"enrols again at next sign-in; sessions ended, {revoked} tokens revoked"
            await Audit(session).record(
                AUDITED[what],
                user_id=scope.user_id,
                service_id=service_id,
                subject=found.email,
                address=address,
                detail=f"user #{user_id}: {detail}",
            )
    if found is None:
        await _denied(desk, scope, service_id, address, f"{what} member #{user_id}")
    assert found is not None
    return found


async def _find(members: Team, service_id: str, user_id: int) -> TeamMember | None:
    return next((m for m in await members.members(service_id) if m.user_id == user_id), None)


async def _allowed(
    desk: Desk, scope: Scope, service_id: str, address: str | None, detail: str
) -> None:
    known = service_id in desk.rules().book.services
    if not known or not may_manage(admin_of(scope), service_id):
        await _denied(desk, scope, service_id, address, detail)


async def _denied(
    desk: Desk, scope: Scope, service_id: str, address: str | None, detail: str
) -> None:
    # In a transaction of its own: the caller's, if any, is rolled back by the NotFound.
    await desk.deny_service_page(Denied.TEAM, scope, service_id, address, detail)
    raise NotFound


__all__ = [
    "InvitationRefused",
    "Invited",
    "NotFound",
    "TeamError",
    "change",
    "invite",
    "manageable",
    "member",
    "team",
]
