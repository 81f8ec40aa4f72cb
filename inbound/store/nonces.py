"""Webhook nonces already accepted (`webhook_nonces`): a signed nonce is good once per provider."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, Insert, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import Base, WebhookNonce

# The column's width; a longer (or odd) nonce is kept as its digest instead.
MAX_STORED = 200
# How long a nonce is kept. Not the provider's retry window: a V2 Plivo signature carries no
# time, so a captured one stays valid until the auth token changes, and a forgotten nonce could
# be used again. Kept over a year; rotate the token at least yearly (docs/providers.md).
KEEP = timedelta(days=400)


def stored_form(nonce: str) -> str:
    """The nonce as kept: itself when short printable ASCII, else `sha256:` and its digest.

    Whatever a provider signs must be storable, or the check would fail on it every time.
    """
    if len(nonce) <= MAX_STORED and nonce.isascii() and nonce.isprintable():
        return nonce
    raw = nonce.encode("utf-8", "surrogateescape")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class WebhookNonces:
    """Repository for accepted nonces, on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, provider: str, nonce: str, now: datetime) -> bool:
        """Record the nonce; True when it is new, False when it was recorded before.

        One INSERT … ON CONFLICT DO NOTHING, so of two concurrent claims exactly one wins.
        """
        statement = self._insert_unless_seen().returning(WebhookNonce.id)
        found = await self._session.execute(
            statement, {"provider": provider, "nonce": stored_form(nonce), "seen_at": now}
        )
        return found.first() is not None

    async def release(self, provider: str, nonce: str) -> None:
        """Forget a nonce, so the same request may be accepted again."""
        await self._session.execute(
            delete(WebhookNonce).where(
                WebhookNonce.provider == provider, WebhookNonce.nonce == stored_form(nonce)
            )
        )

    async def purge(self, before: datetime) -> int:
        """Forget nonces first seen before `before`; how many."""
        result: CursorResult[tuple[()]] = await self._session.execute(  # type: ignore[assignment]
            delete(WebhookNonce)
            .where(WebhookNonce.seen_at < before)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    def _insert_unless_seen(self) -> Insert:
        table = Base.metadata.tables[WebhookNonce.__tablename__]
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        raise NotImplementedError(f"no nonce store for {dialect}")
