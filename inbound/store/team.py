"""A service's team as its admins see it: members, their accounts and last sign-in; and the
lock that keeps two admins' changes from both taking a service's last admin away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import AuditEvent, Membership, User


@dataclass(frozen=True)
class TeamMember:
    """One member of a service's team and their account."""

    user_id: int
    email: str
    role: str  # in this service
    roles: dict[str, str]  # every service they work in -> role
    platform_admin: bool
    disabled_at: datetime | None
    enrolled: bool  # has a two-factor key
    created_at: datetime
    last_sign_in: datetime | None  # from the audit log's sign_in events


class Team:
    """Repository for one service's members (the writes are Users', in store/users.py)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self) -> None:
        """Serialise team changes until this transaction ends, so two admins can't each see
        another admin left and both step down (the check reads several services' counts)."""
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            await self._session.execute(text("SELECT pg_advisory_xact_lock(hashtext('team'))"))
        elif dialect == "sqlite":
            # The driver begins a transaction at the first write: a write that changes nothing
            # takes the database's one write lock now, before the counts are read.
            await self._session.execute(text("UPDATE memberships SET id = id WHERE 0"))

    async def members(self, service_id: str) -> list[TeamMember]:
        """The service's members, by email."""
        users = list(
            (
                await self._session.scalars(
                    select(User)
                    .join(Membership, Membership.user_id == User.id)
                    .where(Membership.service_id == service_id)
                    .order_by(User.email)
                )
            ).all()
        )
        ids = [user.id for user in users]
        if not ids:
            return []
        roles: dict[int, dict[str, str]] = {user_id: {} for user_id in ids}
        for user_id, service, role in await self._session.execute(
            select(Membership.user_id, Membership.service_id, Membership.role).where(
                Membership.user_id.in_(ids)
            )
        ):
            roles[int(user_id)][str(service)] = str(role)
        signed_in: dict[int | None, datetime] = {}
        for who, at in await self._session.execute(
            select(AuditEvent.user_id, func.max(AuditEvent.at))
            .where(AuditEvent.action == "sign_in", AuditEvent.user_id.in_(ids))
            .group_by(AuditEvent.user_id)
        ):
            signed_in[who] = at
        return [
            TeamMember(
                user_id=user.id,
                email=user.email,
                role=roles[user.id][service_id],
                roles=roles[user.id],
                platform_admin=user.platform_admin,
                disabled_at=user.disabled_at,
                enrolled=user.totp_secret is not None,
                created_at=user.created_at,
                last_sign_in=signed_in.get(user.id),
            )
            for user in users
        ]

    async def active_admins(self, services: list[str]) -> dict[str, int]:
        """How many active (not disabled) service admins each of these services has."""
        if not services:
            return {}
        rows = await self._session.execute(
            select(Membership.service_id, func.count())
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.service_id.in_(services),
                Membership.role == "service_admin",
                User.disabled_at.is_(None),
            )
            .group_by(Membership.service_id)
        )
        return {str(service): int(count) for service, count in rows}
