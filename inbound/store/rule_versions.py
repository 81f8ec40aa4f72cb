"""Repository for rules managed in inbound: published versions and drafts (migration 0018), and
versions moved back to rule files (migration 0019)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.rules.managed import Published
from inbound.store.models import RuleDraft, RuleRelease, RuleVersion

# What identifies the published rules as they are now: each service's latest number and whether
# it is moving back to a file ("moving") or not ("inbound"); services back in files are left out.
Stamp = tuple[tuple[str, int, str], ...]


class VersionTaken(Exception):
    """Another version of the service was published first (a concurrent publish)."""


class ReleaseTaken(Exception):
    """Another command is moving the same version back to a file."""


def _last_versions() -> Select[RuleVersion, RuleRelease]:
    """Each service's latest version, with its move back to a file if one began (outer join):
    the versions whose move is finished are left out."""
    latest = (
        select(RuleVersion.service_id, func.max(RuleVersion.number).label("number"))
        .group_by(RuleVersion.service_id)
        .subquery()
    )
    return (
        select(RuleVersion, RuleRelease)
        .join(
            latest,
            (latest.c.service_id == RuleVersion.service_id)
            & (latest.c.number == RuleVersion.number),
        )
        .outerjoin(
            RuleRelease,
            (RuleRelease.service_id == RuleVersion.service_id)
            & (RuleRelease.number == RuleVersion.number),
        )
        .where(RuleRelease.finished_at.is_(None))
        .order_by(RuleVersion.service_id)
    )


class RuleVersions:
    """Versions and drafts of services' rules; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def stamp(self) -> Stamp:
        """Each managed service's latest version number and state: one small query over the
        primary keys, cheap to poll."""
        latest = (
            select(RuleVersion.service_id, func.max(RuleVersion.number).label("number"))
            .group_by(RuleVersion.service_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(latest.c.service_id, latest.c.number, RuleRelease.number.is_not(None))
            .outerjoin(
                RuleRelease,
                (RuleRelease.service_id == latest.c.service_id)
                & (RuleRelease.number == latest.c.number),
            )
            .where(RuleRelease.finished_at.is_(None))
            .order_by(latest.c.service_id)
        )
        return tuple(
            (service, int(number), "moving" if moving else "inbound")
            for service, number, moving in rows
        )

    async def in_force(self) -> list[Published]:
        """Every managed service's latest version; one moving back to a file yields to it."""
        rows = await self._session.execute(_last_versions())
        return [
            Published(row.service_id, row.number, row.yaml, yields_to_file=release is not None)
            for row, release in rows
        ]

    async def latest(self, service_id: str) -> RuleVersion | None:
        """The service's version in force, or None when its rules are managed in files (or are
        moving back to a file: no version may be published then)."""
        last = await self.last(service_id)
        if last is None or await self.release(service_id, last.number) is not None:
            return None
        return last

    async def last(self, service_id: str) -> RuleVersion | None:
        """The service's latest version, in force or not; None when it never had one."""
        found: RuleVersion | None = await self._session.scalar(
            select(RuleVersion)
            .where(RuleVersion.service_id == service_id)
            .order_by(RuleVersion.number.desc())
            .limit(1)
        )
        return found

    async def release(self, service_id: str, number: int) -> RuleRelease | None:
        """Version `number`'s move back to a rule file, if one began."""
        return await self._session.get(RuleRelease, (service_id, number))

    async def start_release(
        self, version: RuleVersion, path: str, author: str, reason: str
    ) -> RuleRelease:
        """Record that `version` is moving back to the rule file `path` (it stays in force until
        the file is in the folder); `ReleaseTaken` when another command began it first."""
        row = RuleRelease(
            service_id=version.service_id,
            number=version.number,
            path=path,
            author=author,
            reason=reason,
            started_at=datetime.now(UTC),
        )
        try:
            async with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            raise ReleaseTaken(
                f"version {version.number} of {version.service_id} is already moving to a file"
            ) from None
        return row

    async def cancel_release(self, release: RuleRelease) -> None:
        """Forget a move that didn't finish (its file couldn't be written)."""
        await self._session.delete(release)
        await self._session.flush()

    async def finish_release(self, release: RuleRelease) -> None:
        """The file is in the folder: from now on it alone is in force."""
        release.finished_at = datetime.now(UTC)
        await self._session.flush()

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

    async def change_draft(self, draft: RuleDraft, was: str, yaml: str) -> bool:
        """Replace a draft's YAML if it is still `was` (False, nothing written, if another
        transaction changed it); it stays based on the version it began from."""
        # Compare-and-set in one statement: two saves read the same YAML, one of them writes.
        changed = await self._session.execute(
            update(RuleDraft)
            .where(RuleDraft.id == draft.id, RuleDraft.yaml == was)
            .values(yaml=yaml)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(changed, CursorResult)
        if int(changed.rowcount) != 1:
            return False
        await self._session.refresh(draft)
        return True

    async def draft(self, service_id: str, draft_id: int) -> RuleDraft | None:
        found = await self._session.get(RuleDraft, draft_id)
        return found if found is not None and found.service_id == service_id else None

    async def drafts(self, service_id: str, based_on: int, limit: int) -> Sequence[RuleDraft]:
        """The service's drafts begun from version `based_on`, newest first."""
        found = await self._session.scalars(
            select(RuleDraft)
            .where(RuleDraft.service_id == service_id, RuleDraft.based_on == based_on)
            .order_by(RuleDraft.id.desc())
            .limit(limit)
        )
        return found.all()


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
