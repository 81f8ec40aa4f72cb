"""Rules managed in inbound, one function per use case: read the rules in force, save a
draft, publish it, roll back, import a rule file, move a service back to a rule file (issue 18;
docs/rules.md).

Every version is checked as the processes will load it (the rule folder plus every published
version) before it is stored: a version that would not load is never published. The version
number is the primary key, so of two publishes from the same version the second is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
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
from inbound.store.rule_versions import ReleaseTaken, RuleVersions, VersionTaken
from inbound.store.users import Audit

MAX_YAML = 256 * 1024  # far above any real rule file (the examples are under 10 KiB)
MAX_REASON = 500
MAX_PREVIEW_DAYS = 90  # what the replay of a draft may read back
# Between recording a move back to files and putting the file in place: a reload (or a start)
# that read the versions just before the move has read the folder too by then, so it can't
# see the old state beside the new file. Reading both takes milliseconds.
MOVE_SETTLE = 1.0


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


class MovedToFiles(ManagedInFiles, Conflict):
    """The service's rules were moved back to a rule file: its versions are history. Both
    kinds, for callers that catch either (the API answers 409 managed_in_files)."""


class FileExists(Exception):
    """The rule file to write is already there, and overwriting it wasn't asked for."""


class DraftChanged(Conflict):
    """The draft was saved by someone else between reading it and saving a change to it."""


def revision(yaml: str) -> str:
    """A short fingerprint of a draft's YAML, which a page sends back to say what it changed."""
    return hashlib.sha256(yaml.encode()).hexdigest()[:16]


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
class MovedBack:
    """A service moved back to files: the version whose rules its file holds, and the file."""

    service_id: str
    number: int
    path: Path
    written: bool  # False: the file already held those rules (a move begun before, finished)


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
            versions = RuleVersions(session)
            last = await versions.last(service_id)
            release = None if last is None else await versions.release(service_id, last.number)
        if last is not None and release is None:
            return InForce(service_id, last.number, Managed.INBOUND, last.yaml)
        path = await asyncio.to_thread(self._file_of, service_id)
        moving = last is not None and release is not None and release.finished_at is None
        if last is not None and moving and path is None:
            # Moving back to a file not written yet: the version is in force until it is.
            return InForce(service_id, last.number, Managed.INBOUND, last.yaml)
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
                if await versions.last(service_id) is None:
                    await self._require_known(service_id)
                raise ManagedInFiles(service_id)
            draft = await versions.add_draft(service_id, text, actor.name, latest.number)
        return Drafted(draft, report.warnings)

    async def change_draft(self, service_id: str, draft_id: int, text: str, *, was: str) -> Drafted:
        """Replace a draft's YAML, as the browser's editor does with each form; it keeps the
        version it began from, so publishing still finds a conflict. `was` is the YAML the change
        was made to: `DraftChanged` if the draft is no longer that. `Invalid`: nothing saved."""
        report = _checked(service_id, text)
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            draft = await versions.draft(service_id, draft_id)
            if draft is None:
                raise NotFound(f"draft {draft_id}")
            if not await versions.change_draft(draft, was, text):
                raise DraftChanged(
                    f"draft {draft_id} changed since this change began (another tab or admin "
                    "saved it): nothing saved"
                )
        return Drafted(draft, report.warnings)

    async def open_drafts(self, service_id: str, limit: int = 10) -> list[RuleDraft]:
        """The drafts begun from the version in force, newest first: those that may still be
        published (empty for a service managed in files)."""
        async with self._sessions() as session:
            versions = RuleVersions(session)
            latest = await versions.latest(service_id)
            if latest is None:
                return []
            return list(await versions.drafts(service_id, latest.number, limit))

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
            if target is None:
                raise NotFound(f"version {number}")
            if latest is None:
                raise MovedToFiles(service_id)
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
            last = await versions.last(service_id)
            release = None if last is None else await versions.release(service_id, last.number)
            if last is not None and release is None:
                raise Conflict(
                    f"service {service_id!r} is already managed in inbound (version "
                    f"{last.number}): change it with a draft and publish"
                )
            if last is not None and release is not None and release.finished_at is None:
                raise Conflict(_moving(service_id, release.path))
            # Back in inbound after a move to files: the next version after the last.
            number = await self._store(
                versions,
                service_id,
                text,
                reason,
                actor,
                based_on=None,
                number=None if last is None else last.number + 1,
            )
            await Audit(session).record(
                "rules_imported",
                user_id=actor.user_id,
                service_id=service_id,
                subject=f"rules version {number}",
                address=actor.address,
                detail=reason,
            )
        return service_id, number

    async def move_to_files(
        self,
        service_id: str,
        path: Path | None,
        reason: str,
        actor: Actor,
        *,
        overwrite: bool = False,
    ) -> MovedBack:
        """Make a service managed in inbound managed in files again: its version in force is
        written as a rule file in the rules folder (`path`, default `SERVICE.yaml` there), and
        its versions become history (kept; a later import stores the next one). Audited.

        In three steps, so no process ever has no rules for the service, or both: the move is
        recorded (the version yields to a file of the service from then on), the file is put
        in place at once (renamed in), and the move is finished (the version is history).
        Run again after a failure, it finishes the move it began.
        """
        reason = _reason(reason)
        async with self._sessions() as session:
            versions = RuleVersions(session)
            last = await versions.last(service_id)
            release = None if last is None else await versions.release(service_id, last.number)
            others = [p for p in await versions.in_force() if p.service_id != service_id]
        if last is None:
            await self._require_known(service_id)
            raise ManagedInFiles(service_id)
        if release is not None and release.finished_at is not None:
            raise ManagedInFiles(service_id)
        began = None if release is None else release.path
        target = await asyncio.to_thread(self._target, service_id, path, began)
        text = last.yaml if last.yaml.endswith("\n") else last.yaml + "\n"
        write = await asyncio.to_thread(
            self._ready_to_write, service_id, target, text, others, overwrite
        )
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            await self._still_last(versions, service_id, last.number)
            if release is None:
                try:
                    await versions.start_release(last, str(target), actor.name, reason)
                except ReleaseTaken as taken:
                    raise Conflict(f"{taken}: let it finish") from None
        if write:
            await asyncio.sleep(MOVE_SETTLE)
            try:
                await asyncio.to_thread(_put_in_place, target, text, overwrite)
            except (OSError, FileExists):
                await self._cancel_move(service_id, last.number)
                raise
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            begun = await versions.release(service_id, last.number)
            latest = await versions.last(service_id)
            if begun is None or latest is None or latest.number != last.number:
                if write:  # the service is in inbound again: a file of it would be refused
                    await asyncio.to_thread(target.unlink, missing_ok=True)
                raise Conflict(f"service {service_id!r} changed during the move; nothing moved")
            await versions.finish_release(begun)
            await Audit(session).record(
                "rules_moved_to_files",
                user_id=actor.user_id,
                service_id=service_id,
                subject=f"rules version {last.number}",
                address=actor.address,
                detail=f"to {target}: {begun.reason}",
            )
        return MovedBack(service_id, last.number, target, write)

    def _target(self, service_id: str, path: Path | None, begun: str | None) -> Path:
        """The rule file to write: in the rules folder (the processes load nothing else), and
        the one a move that didn't finish (`begun`) named."""
        if begun is not None:
            if path is not None and path.resolve() != Path(begun).resolve():
                raise Conflict(
                    f"{_moving(service_id, begun)}; to write another file, first finish this "
                    "move, then rename the file"
                )
            path = Path(begun)
        folder = self._folder.resolve()
        if not folder.is_dir():
            raise Invalid(f"the rules folder {self._folder} is not a folder: set INBOUND_RULES_DIR")
        target = (path if path is not None else self._folder / f"{service_id}.yaml").resolve()
        if not target.is_relative_to(folder) or target == folder:
            raise Invalid(
                f"{path}: the file must be in the rules folder ({self._folder}), which the "
                "processes load"
            )
        if target.suffix not in {".yaml", ".yml"}:
            raise Invalid(f"{path}: a rule file's name ends in .yaml or .yml")
        if not target.parent.is_dir():
            raise Invalid(f"{target.parent}: no such folder")
        return target

    def _ready_to_write(
        self,
        service_id: str,
        target: Path,
        text: str,
        others: list[Published],
        overwrite: bool,
    ) -> bool:
        """Check the folder can take the file, as the processes would load it; True when the
        file must be written (False: it already holds these rules)."""
        files = check(self._folder)
        there = {path.resolve(): rules.service.id for path, rules in files.services}
        held = there.get(target, service_id)
        if held != service_id:
            raise Conflict(
                f"{target} holds the rules of service {held!r}; writing over it would take "
                "them away: choose another file with --file"
            )
        for path, rules in files.services:
            if rules.service.id == service_id and path.resolve() != target:
                raise Conflict(
                    f"{path} already defines service {service_id!r}: remove it, or move the "
                    f"service back to files over it (--file {path} --overwrite)"
                )
        write = True
        if target.exists():
            try:
                same = target.read_bytes().decode("utf-8-sig") == text
            except (OSError, UnicodeDecodeError):
                same = False
            if not same and not overwrite:
                raise FileExists(f"{target} exists: remove it, or say to overwrite it")
            write = not same
        kept = [(p, r) for p, r in files.services if p.resolve() != target]
        errors = [e for e in files.errors if e.path.resolve() != target]
        mine = check_text(target, text)
        try:
            compose(CheckReport(kept + mine.services, errors + mine.errors, []), others)
        except RuleSetError as refused:
            raise Invalid("the rules folder would not load with the file", refused.errors) from None
        return write

    async def _still_last(self, versions: RuleVersions, service_id: str, number: int) -> None:
        last = await versions.last(service_id)
        if last is None or last.number != number:
            now = "none" if last is None else f"version {last.number}"
            raise Conflict(f"version {number} is no longer the last of {service_id!r} ({now})")

    async def _cancel_move(self, service_id: str, number: int) -> None:
        """The file couldn't be put in place: the version is simply in force again."""
        async with self._sessions.begin() as session:
            versions = RuleVersions(session)
            begun = await versions.release(service_id, number)
            if begun is not None and begun.finished_at is None:
                await versions.cancel_release(begun)

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
        """The service's versions, newest first (empty: never managed in inbound; kept after a
        move back to files, as history)."""
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
        number: int | None = None,
    ) -> int:
        number = number if number is not None else (based_on or 0) + 1
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


def _moving(service_id: str, path: str) -> str:
    return (
        f"service {service_id!r} is moving back to the rule file {path}, a move that didn't "
        f"finish: finish it with `inbound rules export {service_id} --to-files`"
    )


def _put_in_place(target: Path, text: str, overwrite: bool) -> None:
    """Write the file beside its place under a name the processes ignore, then link or rename
    it in: a process reading the folder sees no file or the whole file, never half of one."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with temporary.open("x", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    try:
        if overwrite:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)  # refuses a file that appeared since the check
    except FileExistsError:
        raise FileExists(f"{target} exists: remove it, or say to overwrite it") from None
    finally:
        temporary.unlink(missing_ok=True)


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
