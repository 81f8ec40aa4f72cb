"""Repository for rules managed in inbound: published versions and drafts (migration 0018)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.rules.managed import Published
from inbound.store.models import RuleDraft, RuleVersion

# What identifies the published rules as they are now: each managed service's latest number.
Stamp = tuple[tuple[str, int], ...]


class VersionTaken(Exception):
    """Another version of the service was published first (a concurrent publish)."""


class RuleVersions:
    """Versions and drafts of services' rules; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def stamp(self) -> Stamp:
        """Each managed service's latest version number: one indexed query, cheap to poll."""
        rows = await self._session.execute(
            select(RuleVersion.service_id, func.max(RuleVersion.number))
            .group_by(RuleVersion.service_id)
            .order_by(RuleVersion.service_id)
        )
        return tuple((service, int(number)) for service, number in rows)

    async def in_force(self) -> list[Published]:
        """Every managed service's latest version."""
        latest = (
            select(RuleVersion.service_id, func.max(RuleVersion.number).label("number"))
            .group_by(RuleVersion.service_id)
            .subquery()
        )
        rows = await self._session.scalars(
            select(RuleVersion)
            .join(
                latest,
                (latest.c.service_id == RuleVersion.service_id)
                & (latest.c.number == RuleVersion.number),
            )
            .order_by(RuleVersion.service_id)
        )
        return [Published(row.service_id, row.number, row.yaml) for row in rows]

    async def latest(self, service_id: str) -> RuleVersion | None:
        """The service's version in force, or None when its rules are managed in files."""
        found: RuleVersion | None = await self._session.scalar(
            select(RuleVersion)
            .where(RuleVersion.service_id == service_id)
            .order_by(RuleVersion.number.desc())
            .limit(1)
        )
        return found

    async def versions(self, service_id: str) -> Sequence[RuleVersion]:
        """The service's versions, newest first."""
        rows = await self._session.scalars(
            select(RuleVersion)
            .where(RuleVersion.service_id == service_id)
            .order_by(RuleVersion.number.desc())
        )
        return rows.all()

    async def version(self, service_id: str, number: int) -> RuleVersion | None:
        return await self._session.get(RuleVersion, (service_id, number))

    async def add_version(
        self,
        service_id: str,
        number: int,
        yaml: str,
        author: str,
        reason: str,
        based_on: int | None,
    ) -> RuleVersion:
        """Store version `number`; `VersionTaken` when another publish stored it first."""
        row = RuleVersion(
            service_id=service_id,
            number=number,
            yaml=yaml,
            author=author,
            created_at=datetime.now(UTC),
            reason=reason,
            based_on=based_on,
        )
        try:
            # A savepoint: the primary key refuses the second of two concurrent publishes.
            async with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            raise VersionTaken(f"version {number} of {service_id} was published first") from None
        return row

    async def add_draft(
        self, service_id: str, yaml: str, author: str, based_on: int | None
    ) -> RuleDraft:
        row = RuleDraft(
            service_id=service_id,
            yaml=yaml,
            author=author,
            created_at=datetime.now(UTC),
            based_on=based_on,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def change_draft(self, draft: RuleDraft, yaml: str) -> None:
        """Replace a draft's YAML; it stays based on the version it began from."""
        draft.yaml = yaml
        await self._session.flush()

    async def draft(self, service_id: str, draft_id: int) -> RuleDraft | None:
        found = await self._session.get(RuleDraft, draft_id)
        return found if found is not None and found.service_id == service_id else None


class StoredVersions:
    """The published versions as a process's rules watcher reads them, each in its own
    short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def stamp(self) -> Stamp:
        async with self._sessions() as session:
            return await RuleVersions(session).stamp()

    async def in_force(self) -> list[Published]:
        async with self._sessions() as session:
            return await RuleVersions(session).in_force()
