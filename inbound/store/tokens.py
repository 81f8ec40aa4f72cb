"""API tokens: bearer credentials for the JSON API. A personal token acts as one user; a
service token (for a service's own machines) acts for one service, with no user.

Only a token's SHA-256 is stored. Each has an expiry, a last use (recorded at most once a
minute) and, once revoked, the time it was; whether one may be used is decided by
`inbound.review.token_state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.review.token_state import (
    DEFAULT_LIFETIME,
    USE_RECORDED_EVERY,
    TokenFacts,
    TokenState,
    expiry,
    token_state,
)
from inbound.store.models import ApiToken, User


def facts(token: ApiToken, user: User | None) -> TokenFacts:
    """The values token_state decides on (a service token has no user to be disabled)."""
    disabled_at = user.disabled_at if user is not None else None
    return TokenFacts(token.created_at, token.expires_at, token.revoked_at, disabled_at)


@dataclass(frozen=True)
class Presented:
    """A token someone presented: its state now, and its row and user when it exists (a
    service token has a row and no user: `token.service_id` says whose it is)."""

    state: TokenState
    token: ApiToken | None
    user: User | None


@dataclass(frozen=True)
class NotifyKeyToStore:
    """What is kept of a key in GOV.UK Notify's format: never the key itself."""

    token_hash: str  # of the whole key: unique like every token's, and never a bearer's
    issuer: str  # the service's UUID, as the key's JWTs name it
    sealed_secret: str  # the HS256 secret, sealed with INBOUND_SECRET_KEY


@dataclass(frozen=True)
class TokenListing:
    """One row of `inbound tokens list`: everything but the token and its hash."""

    id: int
    name: str
    owner: str  # the user's email, or "service ID" for a service token
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    state: TokenState


class ApiTokens:
    """Repository for API tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        user_id: int,
        token_hash: str,
        name: str,
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        now: datetime | None = None,
    ) -> ApiToken:
        """Store a new token's hash for a user, expiring `lifetime` from now."""
        return await self._add(token_hash, name, lifetime, now, user_id=user_id)

    async def add_for_service(
        self,
        service_id: str,
        token_hash: str,
        name: str,
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        now: datetime | None = None,
    ) -> ApiToken:
        """Store a new service token's hash, expiring `lifetime` from now."""
        return await self._add(token_hash, name, lifetime, now, service_id=service_id)

    async def add_notify_key(
        self,
        service_id: str,
        key: NotifyKeyToStore,
        name: str,
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        now: datetime | None = None,
    ) -> ApiToken:
        """Store a service's key in Notify's format: its hash, issuer and sealed secret."""
        return await self._add(key.token_hash, name, lifetime, now, service_id=service_id, key=key)

    async def notify_keys(self, issuer: str) -> list[ApiToken]:
        """Every key in Notify's format with this issuer (revoked ones too, so that a revoked
        key is told apart from a wrong one), oldest first."""
        rows = await self._session.scalars(
            select(ApiToken).where(ApiToken.notify_issuer == issuer).order_by(ApiToken.id)
        )
        return list(rows)

    async def _add(
        self,
        token_hash: str,
        name: str,
        lifetime: timedelta,
        now: datetime | None,
        *,
        user_id: int | None = None,
        service_id: str | None = None,
        key: NotifyKeyToStore | None = None,
    ) -> ApiToken:
        now = now or datetime.now(UTC)
        row = ApiToken(
            token_hash=token_hash,
            user_id=user_id,
            service_id=service_id,
            name=name,
            created_at=now,
            expires_at=now + lifetime,
            last_used_at=None,
            revoked_at=None,
            notify_issuer=key.issuer if key is not None else None,
            notify_secret=key.sealed_secret if key is not None else None,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def presented(self, token_hash: str, now: datetime) -> Presented:
        """The state of the token with this hash, with its row and user if there is one."""
        found = (
            await self._session.execute(
                select(ApiToken, User)
                .outerjoin(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash)
            )
        ).first()
        if found is None:
            return Presented(TokenState.UNKNOWN, None, None)
        token, user = found
        return Presented(token_state(facts(token, user), now), token, user)

    async def record_use(self, token_id: int, now: datetime) -> None:
        """Move last_used_at to now unless another request did so within the last minute."""
        # The condition repeats use_worth_recording in SQL so that concurrent requests, each of
        # which saw an old value, write once between them.
        await self._session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                (ApiToken.last_used_at.is_(None))
                | (ApiToken.last_used_at <= now - USE_RECORDED_EVERY),
            )
            .values(last_used_at=now)
        )

    async def get(self, token_id: int) -> ApiToken | None:
        return await self._session.get(ApiToken, token_id)

    async def revoke(self, token: ApiToken, now: datetime) -> None:
        """Revoke one token (from now on it authenticates nothing)."""
        token.revoked_at = now
        await self._session.flush()

    async def revoke_all(self, user_id: int, now: datetime) -> int:
        """Revoke every token of a user not revoked yet; how many that was."""
        result = await self._session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def listing(
        self, now: datetime, user_id: int | None = None, service_id: str | None = None
    ) -> list[TokenListing]:
        """Every token (or one user's, or one service's), oldest first, with its state at
        `now`."""
        query = select(ApiToken, User).outerjoin(User, User.id == ApiToken.user_id)
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        if service_id is not None:
            query = query.where(ApiToken.service_id == service_id)
        rows = (await self._session.execute(query.order_by(ApiToken.id))).all()
        return [
            TokenListing(
                id=token.id,
                name=token.name,
                owner=user.email if user is not None else _service_owner(token),
                created_at=token.created_at,
                last_used_at=token.last_used_at,
                expires_at=expiry(facts(token, user)),
                state=token_state(facts(token, user), now),
            )
            for token, user in rows
        ]


def _service_owner(token: ApiToken) -> str:
    kind = ", Notify key" if token.notify_issuer is not None else ""
    return f"service {token.service_id}{kind}"
