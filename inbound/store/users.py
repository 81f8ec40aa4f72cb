"""Users, their memberships, sign-in sessions and the audit log, on one session (API tokens:
store/tokens.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.review.coverage import Member
from inbound.review.throttle import Failures
from inbound.store.models import AuditEvent, Membership, User, WebSession
from inbound.store.tokens import ApiTokens

ROLES = ("caseworker", "service_admin", "platform_admin")


@dataclass(frozen=True)
class Scope:
    """What one user may see: their services (role per service) and, for a platform admin,
    the messages no service owns."""

    user_id: int
    email: str
    roles: dict[str, str]
    unassigned: bool

    @property
    def services(self) -> list[str]:
        return sorted(self.roles)

    def can_see(self, service_id: str | None) -> bool:
        """True when an item of this service (None: unassigned) is within the scope."""
        return self.unassigned if service_id is None else service_id in self.roles

    def is_admin_of(self, service_id: str) -> bool:
        return self.roles.get(service_id) == "service_admin"


class Users:
    """Repository for users and memberships."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_email(self, email: str) -> User | None:
        found: User | None = await self._session.scalar(
            select(User).where(User.email == email.strip().lower())
        )
        return found

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    async def add(self, email: str, password_hash: str) -> User:
        user = User(
            email=email.strip().lower(),
            password_hash=password_hash,
            totp_secret=None,
            platform_admin=False,
            created_at=datetime.now(UTC),
        )
        self._session.add(user)
        await self._session.flush()
        return user

    async def grant(self, user: User, service_id: str | None, role: str) -> None:
        """Give a role: per service, or platform-wide for platform_admin."""
        if role == "platform_admin":
            user.platform_admin = True
            await self._session.flush()
            return
        assert service_id is not None
        existing = await self._session.scalar(
            select(Membership).where(
                Membership.user_id == user.id, Membership.service_id == service_id
            )
        )
        if existing is None:
            self._session.add(Membership(user_id=user.id, service_id=service_id, role=role))
        else:
            existing.role = role
        await self._session.flush()

    async def scope(self, user: User) -> Scope:
        rows = await self._session.execute(
            select(Membership.service_id, Membership.role).where(Membership.user_id == user.id)
        )
        roles = {str(row[0]): str(row[1]) for row in rows.all()}
        return Scope(user.id, user.email, roles, user.platform_admin)

    async def members(self) -> list[Member]:
        """Every service role of every user, and whether the user can sign in."""
        rows = await self._session.execute(
            select(Membership.service_id, Membership.role, User.disabled_at).join(
                User, User.id == Membership.user_id
            )
        )
        return [
            Member(str(service), str(role), disabled is None) for service, role, disabled in rows
        ]

    async def end_sessions(self, user_id: int) -> None:
        await self._session.execute(delete(WebSession).where(WebSession.user_id == user_id))

    # -- taking access away (issue 13) ---------------------------------------------------------

    async def active_by_email(self, email: str) -> User | None:
        """The user with this email unless disabled (or removed): the lookup sign-in uses."""
        user = await self.by_email(email)
        return user if user is not None and user.disabled_at is None else None

    async def disable(self, user: User, now: datetime) -> int:
        """No sign-in from now: ends every session and revokes every token in this transaction.

        Returns how many tokens were revoked. Disabling a disabled user keeps the first date.
        """
        user.disabled_at = user.disabled_at or now
        await self.end_sessions(user.id)
        revoked = await ApiTokens(self._session).revoke_all(user.id, now)
        await self._session.flush()
        return revoked

    async def reset_two_factor(self, user: User, now: datetime) -> int:
        """They enrol a new key at their next sign-in: the key goes, their sessions end and
        their tokens are revoked (the account may have been in someone else's hands).

        Returns how many tokens were revoked.
        """
        user.totp_secret = None
        user.totp_last_step = None
        await self.end_sessions(user.id)
        revoked = await ApiTokens(self._session).revoke_all(user.id, now)
        await self._session.flush()
        return revoked

    async def enable(self, user: User) -> None:
        """Sign-in allowed again; ended sessions and revoked tokens stay so."""
        user.disabled_at = None
        await self._session.flush()

    async def take_away(self, user: User, service_id: str | None) -> bool:
        """Remove a service role (None: platform_admin); False when they didn't have it."""
        if service_id is None:
            had = user.platform_admin
            user.platform_admin = False
            await self._session.flush()
            return had
        result = await self._session.execute(
            delete(Membership).where(
                Membership.user_id == user.id, Membership.service_id == service_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def remove(self, user: User, now: datetime) -> int:
        """Disable and anonymise: no email, password, two-factor key or role is left.

        The row stays, so audit events, notes and decisions still name the same user id; the
        email becomes removed-<id>@removed.invalid. Returns how many tokens were revoked.
        """
        revoked = await self.disable(user, now)
        await self._session.execute(delete(Membership).where(Membership.user_id == user.id))
        user.email = removed_email(user.id)
        user.password_hash = REMOVED_HASH  # not an argon2 hash: no password matches it
        user.totp_secret = None
        user.totp_last_step = None
        user.platform_admin = False
        await self._session.flush()
        return revoked


REMOVED_HASH = "!removed"


def removed_email(user_id: int) -> str:
    """The address a removed account keeps (.invalid is reserved: it can't be a mailbox)."""
    return f"removed-{user_id}@removed.invalid"


def is_removed(user: User) -> bool:
    """True for an account anonymised by Users.remove (it can't be enabled again)."""
    return user.password_hash == REMOVED_HASH


class WebSessions:
    """Server-side sign-in sessions, keyed by the SHA-256 of the cookie's token."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, key: str, user_id: int, stage: str, csrf_token: str, totp_pending: str | None = None
    ) -> WebSession:
        now = datetime.now(UTC)
        row = WebSession(
            id=key,
            user_id=user_id,
            stage=stage,
            csrf_token=csrf_token,
            totp_pending=totp_pending,
            created_at=now,
            last_seen_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def live(self, key: str, idle: timedelta, absolute: timedelta) -> WebSession | None:
        """The session if it exists and has timed out neither way; touches last_seen_at."""
        row = await self._session.get(WebSession, key)
        if row is None:
            return None
        now = datetime.now(UTC)
        if now - row.last_seen_at > idle or now - row.created_at > absolute:
            await self._session.delete(row)
            return None
        row.last_seen_at = now
        return row

    async def end(self, key: str) -> None:
        await self._session.execute(delete(WebSession).where(WebSession.id == key))

    async def end_half_signed_in(self, user_id: int, keep: str) -> None:
        """End the user's sessions still waiting for a code, all but `keep`."""
        await self._session.execute(
            delete(WebSession).where(
                WebSession.user_id == user_id,
                WebSession.stage == "password",
                WebSession.id != keep,
            )
        )


class Audit:
    """The audit log: who did what, when. Never a message body or a phone number."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        action: str,
        *,
        user_id: int | None = None,
        service_id: str | None = None,
        item_id: int | None = None,
        subject: str | None = None,
        address: str | None = None,
        detail: str | None = None,
    ) -> None:
        self._session.add(
            AuditEvent(
                at=datetime.now(UTC),
                user_id=user_id,
                action=action,
                service_id=service_id,
                item_id=item_id,
                subject=subject[:254] if subject else None,
                address=address[:64] if address else None,
                detail=detail[:500] if detail else None,
            )
        )
        await self._session.flush()

    async def account_failures(
        self, subject: str, user_id: int | None, since: datetime
    ) -> Failures:
        """Failed sign-ins on an account name since a time, or since the account's last full
        sign-in if that is later (a password alone doesn't start the count afresh)."""
        if user_id is not None:
            signed_in = await self._session.scalar(
                select(func.max(AuditEvent.at)).where(
                    AuditEvent.action == "sign_in",
                    AuditEvent.user_id == user_id,
                    AuditEvent.at >= since,
                )
            )
            since = signed_in or since
        row = (
            await self._session.execute(
                select(func.count(), func.max(AuditEvent.at)).where(
                    AuditEvent.action == "sign_in_failed",
                    AuditEvent.subject == subject,
                    AuditEvent.at >= since,
                )
            )
        ).one()
        return Failures(int(row[0] or 0), row[1])

    async def address_failures(self, address: str, since: datetime) -> Failures:
        """Failed sign-ins from an address since a time, counted in distinct accounts: one
        account's failures never hold up another's sign-in."""
        row = (
            await self._session.execute(
                select(func.count(distinct(AuditEvent.subject)), func.max(AuditEvent.at)).where(
                    AuditEvent.action == "sign_in_failed",
                    AuditEvent.address == address,
                    AuditEvent.at >= since,
                )
            )
        ).one()
        return Failures(int(row[0] or 0), row[1])

    async def events(self, *actions: str) -> list[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if actions:
            query = query.where(or_(*(AuditEvent.action == action for action in actions)))
        return list((await self._session.scalars(query)).all())
