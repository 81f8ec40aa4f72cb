"""Reloading rule files without a restart: on SIGHUP, when a file in the folder changes, and
when a version of rules managed in inbound is published or a service moves back to files (the
versions table is polled twice a second: one indexed query; docs/rules.md, "Rules managed in
inbound").

A folder that no longer loads is refused with one log line naming the problems; the rules in
force stay in force until the files are fixed.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from inbound.logs import get_logger
from inbound.periodic import Periodic
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import RuleSetError
from inbound.rules.managed import Published, load_rule_book
from inbound.rules.model import RuleBook

log = get_logger("rules-reload")

Fingerprint = tuple[tuple[str, int, int, int], ...]
# Each managed service's latest version number and whether it is moving back to a file
# (`inbound.store.rule_versions.Stamp`).
Stamp = tuple[tuple[str, int, str], ...]
# How often a process looks for a newly published version: within 2 s of a publish every
# process uses it (tests/integration/test_rules_managed_processes.py measures it).
VERSIONS_INTERVAL = 0.5


class VersionSource(Protocol):
    """Where the published versions are read (the database)."""

    async def stamp(self) -> Stamp: ...
    async def in_force(self) -> list[Published]: ...


def fingerprint(folder: Path) -> Fingerprint:
    """What identifies the folder's rule files as they are now: path, inode, size, mtime."""
    found: list[tuple[str, int, int, int]] = []
    try:
        files = sorted(folder.rglob("*"))
    except OSError:
        return ()
    for file in files:
        if file.suffix not in {".yaml", ".yml"}:
            continue
        try:
            stat = file.stat()
        except OSError:
            continue  # removed while we looked; the next poll sees the folder settled
        found.append((str(file), stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class RulesWatcher:
    """Keeps the rules in force current with the rule folder; `current` is what components call."""

    def __init__(
        self,
        folder: Path,
        rules: CompiledRules,
        interval: float = 2.0,
        on_reload: Callable[[RuleBook], Awaitable[object]] | None = None,
        versions: VersionSource | None = None,
        stamp: Stamp = (),
    ) -> None:
        self.folder = folder
        self._rules = rules
        self._versions = versions
        self._stamp = stamp  # the published versions `rules` were built with
        # Called after each reload that swapped the rules in (the caseworker check).
        self._on_reload = on_reload
        self.interval = min(interval, VERSIONS_INTERVAL) if versions is not None else interval
        self._seen = fingerprint(folder)
        self._hangup = False  # a SIGHUP arrived: reload even if no file looks changed
        self._loop = Periodic("rules_reload", self.interval, self._check)
        self._signal_installed = False

    def current(self) -> CompiledRules:
        """The rules in force now (a `RulesInForce`)."""
        return self._rules

    async def start(self) -> None:
        """Start polling, and reload on SIGHUP where the platform and thread allow it."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_hangup)
            self._signal_installed = True
        except (ValueError, NotImplementedError, RuntimeError, AttributeError):
            # Not the main thread, or no SIGHUP (Windows): polling still picks up changes.
            log.info("rules_reload_signal_unavailable")
        await self._loop.start()

    def _on_hangup(self) -> None:
        self._hangup = True
        self._loop.wake()

    @property
    def handles_sighup(self) -> bool:
        """True when SIGHUP reloads the rules in this process."""
        return self._signal_installed

    async def stop(self) -> None:
        """Stop watching; cancels and awaits the task."""
        if self._signal_installed:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_installed = False
        await self._loop.stop()

    async def reload(self, why: str) -> bool:
        """Load the folder (and the published versions) again; swap the rules in if they load.
        True when swapped."""
        published: list[Published] = []
        if self._versions is not None:
            # Read before the files are marked seen: a database that doesn't answer raises
            # here, and a changed file is still noticed at the next poll. Stamp first: a
            # version published between the two reads is seen at the next poll.
            stamp = await self._versions.stamp()
            published = await self._versions.in_force()
            self._stamp = stamp
        self._seen = await asyncio.to_thread(fingerprint, self.folder)
        try:
            book = await asyncio.to_thread(load_rule_book, self.folder, published)
        except RuleSetError as error:
            first = error.errors[0] if error.errors else None
            log.error(
                "rules_reload_refused",
                why=why,
                folder=str(self.folder),
                errors=len(error.errors),
                first_error=str(first) if first else None,
                keeping="the rules in force",
            )
            return False
        self._swap(book, why)
        if self._on_reload is not None:
            await self._on_reload(book)
        return True

    def _swap(self, book: RuleBook, why: str) -> None:
        self._rules = CompiledRules(book)
        log.info(
            "rules_reloaded",
            why=why,
            services=len(book.services),
            rules=sum(len(service.rules) for service in book.services.values()),
        )

    async def _check(self) -> None:
        # The rules in force stay in force whatever fails here; the loop logs it and goes on.
        if self._hangup:
            self._hangup = False
            await self.reload("SIGHUP")
        elif await asyncio.to_thread(fingerprint, self.folder) != self._seen:
            await self.reload("files changed")
        elif self._versions is not None and await self._versions.stamp() != self._stamp:
            await self.reload("version published")
