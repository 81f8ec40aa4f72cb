"""Users' two-factor keys: enrolling one, using each code once, re-sealing stored keys.

Each write is a compare-and-set `UPDATE … WHERE`, so two requests racing (two enrolments, the
same code sent twice) can't both win, on SQLite or PostgreSQL: the database decides which
update matches, and the loser sees no row changed.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import User


class TwoFactorKeys:
    """Repository for users.totp_secret and users.totp_last_step."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enrol(self, user_id: int, sealed: str, step: int) -> bool:
        """Store a first key, its confirming code's step used; False if the user has a key
        already (a pending key never replaces a confirmed one)."""
        result = await self._session.execute(
            update(User)
            .where(User.id == user_id, User.totp_secret.is_(None))
            .values(totp_secret=sealed, totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    async def use_step(self, user_id: int, step: int) -> bool:
        """Mark a code's time step used; False if that step or a later one was used already."""
        result = await self._session.execute(
            update(User)
            .where(
                User.id == user_id,
                (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    async def reseal(self, user_id: int, stored: str, sealed: str) -> bool:
        """Replace a stored key with the same key sealed anew, unless it changed meanwhile (a
        reset or a new enrolment wins over a re-seal)."""
        result = await self._session.execute(
            update(User)
            .where(User.id == user_id, User.totp_secret == stored)
            .values(totp_secret=sealed)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    async def stored(self) -> list[tuple[int, str]]:
        """(user id, stored key) of every enrolled user."""
        rows = await self._session.execute(
            select(User.id, User.totp_secret).where(User.totp_secret.is_not(None)).order_by(User.id)
        )
        return [(int(user_id), str(secret)) for user_id, secret in rows.all()]


def _changed(result: object) -> bool:
    return bool(getattr(result, "rowcount", 0))
