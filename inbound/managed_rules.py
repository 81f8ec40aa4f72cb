"""Rules managed in inbound, one function per use case: read the rules in force, save a
draft, publish it, roll back, import a rule file, export (issue 18; docs/rules.md).

Every version is checked as the processes will load it (the rule folder plus every published
version) before it is stored: a version that would not load is never published. The version
number is the primary key, so of two publishes from the same version the second is refused.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.rules.load import CheckReport, RuleFileError, RuleSetError, check, check_text
from inbound.rules.managed import Published, check_version, compose
from inbound.rules.replay import ReplaySummary, replay
from inbound.store.history import PastMessage, messages_for_service
from inbound.store.models import RuleDraft, RuleVersion
from inbound.store.prompt_history import prompts_by_sender
from inbound.store.rule_versions import RuleVersions, VersionTaken
from inbound.store.users import Audit

MAX_YAML = 256 * 1024  # far above any real rule file (the examples are under 10 KiB)
MAX_REASON = 500
MAX_PREVIEW_DAYS = 90  # what the replay of a draft may read back


class Managed(StrEnum):
    """Where a service's rules are kept."""

    FILES = "files"  # a rule file in INBOUND_RULES_DIR, changed on the server
    INBOUND = "inbound"  # versions in the database, changed through the API (or the browser)


class NotFound(Exception):
    """No such service, draft or version."""


class ManagedInFiles(Exception):
    """The service's rules are a file: change the file, or import it first."""


class Conflict(Exception):
    """Another version was published since the draft began."""


class Invalid(Exception):
    """The rules would not load, or a field is wrong; `errors` name line and field."""

    def __init__(self, message: str, errors: list[RuleFileError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class InForce:
    """A service's rules in force: the version (None for a file), where kept, the YAML."""

    service_id: str
    version: int | None
    managed: Managed
    yaml: str


@dataclass(frozen=True)
class Drafted:
    draft: RuleDraft
    warnings: list[RuleFileError]


@dataclass(frozen=True)
class Actor:
    """Who changes the rules: a user (by id and email) or someone at the command line."""

    name: str
    user_id: int | None = None
    address: str | None = None


class ManagedRules:
    """The use cases over one database and one rule folder."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], folder: Path) -> None:
        self._sessions = sessions
        self._folder = folder

    async def in_force(self, service_id: str) -> InForce:
        """The service's rules in force now; `NotFound` for a service neither in files nor
        in inbound."""
        async with self._sessions() as session:
            latest = await RuleVersions(session).latest(service_id)
        if latest is not None:
            return InForce(service_id, latest.number, Managed.INBOUND, latest.yaml)
        path = await asyncio.to_thread(self._file_of, service_id)
        if path is None:
            raise NotFound(service_id)
        text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
        return InForce(service_id, None, Managed.FILES, text)

    def _file_of(self, service_id: str) -> Path | None:
        report = check(self._folder) if self._folder.is_dir() else CheckReport([], [], [])
        return next((p for p, rules in report.services if rules.service.id == service_id), None)

    async def draft(self, service_id: str, text: str, actor: Actor) -> Drafted:
        """Check the YAML and keep it as a draft of the version in force; `Invalid` (nothing
        saved) when it has errors."""
        report = _checked(service_id, text)
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            latest = await versions.latest(service_id)
            if latest is None:
                await self._require_known(service_id)
                raise ManagedInFiles(service_id)
            draft = await versions.add_draft(service_id, text, actor.name, latest.number)
        return Drafted(draft, report.warnings)

    async def change_draft(self, service_id: str, draft_id: int, text: str) -> Drafted:
        """Replace a draft's YAML, as the browser's editor does with each form; it keeps the
        version it began from, so publishing still finds a conflict. `Invalid`: nothing saved."""
        report = _checked(service_id, text)
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            draft = await versions.draft(service_id, draft_id)
            if draft is None:
                raise NotFound(f"draft {draft_id}")
            await versions.change_draft(draft, text)
        return Drafted(draft, report.warnings)

    async def draft_of(self, service_id: str, draft_id: int) -> Drafted:
        """A draft as stored, with the warnings `rules check` gives it; `NotFound`."""
        async with self._sessions() as session:
            draft = await RuleVersions(session).draft(service_id, draft_id)
        if draft is None:
            raise NotFound(f"draft {draft_id}")
        return Drafted(draft, check_version(service_id, None, draft.yaml).warnings)

    async def publish(self, service_id: str, draft_id: int, reason: str, actor: Actor) -> int:
        """Publish a draft as the next version; its number. `Conflict` when another version
        was published since the draft began."""
        reason = _reason(reason)
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            draft = await versions.draft(service_id, draft_id)
            if draft is None:
                raise NotFound(f"draft {draft_id}")
            latest = await versions.latest(service_id)
            if latest is None:
                raise ManagedInFiles(service_id)
            if latest.number != draft.based_on:
                raise Conflict(
                    f"version {latest.number} was published since this draft began from "
                    f"version {draft.based_on}: start a new draft from version {latest.number} "
                    "(GET the rules, apply your change, POST a new draft)"
                )
            number = await self._store(
                versions, service_id, draft.yaml, reason, actor, based_on=latest.number
            )
            await Audit(session).record(
                "rules_published",
                user_id=actor.user_id,
                service_id=service_id,
                subject=f"rules version {number}",
                address=actor.address,
                detail=f"draft {draft_id}, from version {latest.number}: {reason}",
            )
        return number

    async def rollback(self, service_id: str, number: int, reason: str, actor: Actor) -> int:
        """Publish an earlier version's rules again, as a new version; its number."""
        reason = _reason(reason)
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            target = await versions.version(service_id, number)
            latest = await versions.latest(service_id)
            if target is None or latest is None:
                raise NotFound(f"version {number}")
            new = await self._store(
                versions, service_id, target.yaml, reason, actor, based_on=latest.number
            )
            await Audit(session).record(
                "rules_rolled_back",
                user_id=actor.user_id,
                service_id=service_id,
                subject=f"rules version {new}",
                address=actor.address,
                detail=f"to version {number}, from version {latest.number}: {reason}",
            )
        return new

    async def import_rules(self, text: str, reason: str, actor: Actor) -> tuple[str, int]:
        """Make a rule file's service managed in inbound: its content becomes version 1.
        (service id, version); `Invalid` when it doesn't load, `Conflict` when already managed."""
        _size(text)
        reason = _reason(reason)
        report = check_text(Path("the file"), text)
        if report.errors or not report.services:
            raise Invalid("the file has errors", report.errors)
        service_id = report.services[0][1].service.id
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            latest = await versions.latest(service_id)
            if latest is not None:
                raise Conflict(
                    f"service {service_id!r} is already managed in inbound (version "
                    f"{latest.number}): change it with a draft and publish"
                )
            number = await self._store(versions, service_id, text, reason, actor, based_on=None)
            await Audit(session).record(
                "rules_imported",
                user_id=actor.user_id,
                service_id=service_id,
                subject=f"rules version {number}",
                address=actor.address,
                detail=reason,
            )
        return service_id, number

    async def preview(
        self, service_id: str, draft_id: int, days: float
    ) -> ReplaySummary[PastMessage]:
        """Replay the service's messages of the last `days` days under a draft, as
        `inbound rules replay` does: what would change, message by message. Writes nothing."""
        if not 0 < days <= MAX_PREVIEW_DAYS:
            raise Invalid(f"days: a number of days from 1 to {MAX_PREVIEW_DAYS}")
        since = datetime.now(UTC) - timedelta(days=days)
        async with self._sessions() as session:
            draft = await RuleVersions(session).draft(service_id, draft_id)
            if draft is None:
                raise NotFound(f"draft {draft_id}")
            report = check_version(service_id, None, draft.yaml)
            if not report.services:  # stored drafts were checked; a later code change may differ
                raise Invalid("the draft no longer loads", report.errors)
            rules = report.services[0][1]
            found = messages_for_service(session, service_id, rules.service.numbers, since)
            history = [past async for past in found]
            senders = {past.sender for past in history if past.text is not None}
            prompts = await prompts_by_sender(session, service_id, senders)
        # Deciding is CPU work: off the event loop, as the suggestions are mined.
        return await asyncio.to_thread(replay, rules, history, prompts)

    async def versions(self, service_id: str) -> list[RuleVersion]:
        """The service's versions, newest first (empty: managed in files)."""
        async with self._sessions() as session:
            found = list(await RuleVersions(session).versions(service_id))
        if not found:
            await self._require_known(service_id)
        return found

    async def version(self, service_id: str, number: int) -> RuleVersion:
        async with self._sessions() as session:
            found = await RuleVersions(session).version(service_id, number)
        if found is None:
            raise NotFound(f"version {number}")
        return found

    async def _require_known(self, service_id: str) -> None:
        if await asyncio.to_thread(self._file_of, service_id) is None:
            raise NotFound(service_id)

    async def _store(
        self,
        versions: RuleVersions,
        service_id: str,
        text: str,
        reason: str,
        actor: Actor,
        *,
        based_on: int | None,
    ) -> int:
        number = (based_on or 0) + 1
        published = [p for p in await versions.in_force() if p.service_id != service_id]
        published.append(Published(service_id, number, text))
        try:
            await asyncio.to_thread(self._verify, service_id, published)
        except RuleSetError as refused:
            raise Invalid("the rules would not load", refused.errors) from None
        try:
            await versions.add_version(service_id, number, text, actor.name, reason, based_on)
        except VersionTaken as taken:
            raise Conflict(f"{taken}: start a new draft from the version in force") from None
        return number

    def _verify(self, service_id: str, published: list[Published]) -> None:
        """Load the rule book the processes would load with this version (`RuleSetError`).
        A file of the service itself is left out: it is refused on its own, by name."""
        files = check(self._folder) if self._folder.is_dir() else CheckReport([], [], [])
        others = [(p, rules) for p, rules in files.services if rules.service.id != service_id]
        compose(CheckReport(others, files.errors, files.warnings), published)


def _checked(service_id: str, text: str) -> CheckReport:
    """The check of a draft's YAML; `Invalid`, naming every problem, when it has errors."""
    _size(text)
    report = check_version(service_id, None, text)
    if report.errors:
        count = len(report.errors)
        problems = f"{count} problem{'s' if count > 1 else ''}"
        raise Invalid(f"the rules have {problems} (listed in errors); nothing saved", report.errors)
    return report


def _size(text: str) -> None:
    if len(text.encode()) > MAX_YAML:
        raise Invalid(f"the rules are over {MAX_YAML // 1024} KiB")


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid("reason: say why, in a few words (it is kept with the version)")
    if len(reason) > MAX_REASON:
        raise Invalid(f"reason: at most {MAX_REASON} characters")
    return reason
