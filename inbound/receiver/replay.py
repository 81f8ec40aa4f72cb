"""The receiver's replay check: each single-use nonce accepted once, kept in the database.

When the database doesn't answer within CHECK_WITHIN, the nonce is accepted unchecked (logged and
counted), not refused: the receiver never answers a provider 4xx for its own failure, and an
outage must not stop the webhooks (RabbitMQ still makes the message durable). What that gives up,
for the outage only: a captured V2-only Plivo request could be replayed with other text. Only
providers run in a mode whose signature doesn't cover the message (INBOUND_PLIVO_ALLOW_V2_ONLY)
reach this check at all.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.store.nonces import WebhookNonces

log = get_logger("receiver")

# A healthy database records a nonce in milliseconds; the webhook still has RabbitMQ's confirm
# (INBOUND_SPOOL_AFTER) and perhaps a spool write to wait for within the provider's patience.
CHECK_WITHIN = 1.0


class NonceGuard:
    """Claims and releases nonces in `webhook_nonces`; open when the database is away."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        within: float = CHECK_WITHIN,
    ) -> None:
        self._sessions = sessions
        self._metrics = metrics
        self._within = within

    async def claim(self, provider: str, nonce: str) -> bool:
        """True when the nonce is new, or can't be checked now; False when seen before."""
        try:
            async with asyncio.timeout(self._within), self._sessions.begin() as session:
                return await WebhookNonces(session).claim(provider, nonce, datetime.now(UTC))
        except (TimeoutError, SQLAlchemyError, OSError) as error:
            log.warning("webhook_nonce_unchecked", provider=provider, error=type(error).__name__)
            self._metrics.nonces_unchecked.labels(provider).inc()
            return True

    async def release(self, provider: str, nonce: str) -> None:
        """Forget the nonce of a message that wasn't made durable, so a retry is accepted."""
        try:
            async with asyncio.timeout(self._within), self._sessions.begin() as session:
                await WebhookNonces(session).release(provider, nonce)
        except (TimeoutError, SQLAlchemyError, OSError) as error:
            # The provider's retry with this nonce will be refused as a replay; say so.
            log.error("webhook_nonce_not_released", provider=provider, error=type(error).__name__)
