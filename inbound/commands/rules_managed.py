"""`inbound rules export` and `inbound rules import`: move a service's rules between a rule
file and inbound's database, both ways (rules managed in inbound, docs/rules.md)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from inbound.commands.context import (
    CommandError,
    Subcommands,
    add_command,
    complete,
    database,
    load_settings,
)

if TYPE_CHECKING:
    from inbound.config import Settings
    from inbound.managed_rules import InForce, MovedBack
    from inbound.rules.model import RuleBook


def rule_book(settings: Settings) -> RuleBook:
    """The rule book the processes load: the rule files plus the versions of services managed
    in inbound (`RuleSetError` as at start-up). For commands that name a service."""
    return complete(_rule_book(settings.database_url, settings.rules_dir))


async def _rule_book(url: str, folder: Path) -> RuleBook:
    import asyncio

    from inbound.rules.managed import load_rule_book
    from inbound.store.database import session_factory
    from inbound.store.rule_versions import RuleVersions

    async with database(url) as engine, session_factory(engine)() as session:
        published = await RuleVersions(session).in_force()
    return await asyncio.to_thread(load_rule_book, folder, published)


def _export(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.to_files:
        return _move_to_files(settings, args)
    given = [o for o, v in (("--file", args.file), ("--overwrite", args.overwrite)) if v]
    if args.reason is not None:
        given.append("--reason")
    if given:
        raise CommandError(f"{', '.join(given)}: only with --to-files (move the service)")
    found = complete(_in_force(settings.database_url, settings.rules_dir, args.service))
    sys.stdout.write(found.yaml if found.yaml.endswith("\n") else found.yaml + "\n")
    where = f"version {found.version}, managed in inbound" if found.version else "a rule file"
    print(f"service {args.service}: {where}", file=sys.stderr)
    return 0


async def _in_force(url: str, folder: Path, service: str) -> InForce:
    from inbound.managed_rules import ManagedRules, NotFound
    from inbound.store.database import session_factory

    async with database(url) as engine:
        try:
            return await ManagedRules(session_factory(engine), folder).in_force(service)
        except NotFound:
            raise CommandError(
                f"no service {service!r}: not in the rule files ({folder}) nor in inbound"
            ) from None


def _move_to_files(settings: Settings, args: argparse.Namespace) -> int:
    who = f"{getpass.getuser()} (inbound rules export --to-files)"
    reason = args.reason if args.reason is not None else "moved back to a rule file"
    moved = complete(_move(settings.database_url, settings.rules_dir, args, reason, who))
    wrote = "wrote" if moved.written else "kept (it already held them)"
    print(
        f"service {moved.service_id}: managed in files from now on; {wrote} {moved.path} with "
        f"the rules of version {moved.number}"
    )
    print(
        "running processes load the file within 2 s (the same rules, no gap); change the "
        f"service by editing it. Its versions are kept: `inbound rules import {moved.path}` "
        f"moves it into inbound again, as version {moved.number + 1}."
    )
    return 0


async def _move(
    url: str, folder: Path, args: argparse.Namespace, reason: str, who: str
) -> MovedBack:
    from inbound.managed_rules import (
        Actor,
        Conflict,
        FileExists,
        Invalid,
        ManagedInFiles,
        ManagedRules,
        NotFound,
    )
    from inbound.store.database import session_factory

    service: str = args.service
    async with database(url) as engine:
        managed = ManagedRules(session_factory(engine), folder)
        try:
            return await managed.move_to_files(
                service, args.file, reason, Actor(who), overwrite=args.overwrite
            )
        except NotFound:
            raise CommandError(
                f"no service {service!r}: not in the rule files ({folder}) nor in inbound"
            ) from None
        except ManagedInFiles:
            raise CommandError(
                f"service {service!r} is managed in files already: `inbound rules export "
                f"{service}` prints its rule file"
            ) from None
        except FileExists as exists:
            raise CommandError(f"{exists} (--overwrite replaces it)") from None
        except Conflict as conflict:
            raise CommandError(str(conflict)) from None
        except Invalid as invalid:
            raise CommandError(_problems(invalid, None)) from None


def _problems(invalid: Exception, path: Path | None) -> str:
    """An `Invalid`'s message and each of its errors on a line (`path` names a file's)."""
    from inbound.managed_rules import Invalid

    errors = invalid.errors if isinstance(invalid, Invalid) else []
    lines = [str(invalid)]
    for e in errors:
        where = f"{path if path is not None else e.path}:{e.line or '-'}"
        field = f"{e.field}: " if e.field else ""
        lines.append(f"  {where}: {field}{e.problem} — {e.fix}")
    return "\n".join(lines)


def _import(args: argparse.Namespace) -> int:
    settings = load_settings()
    path: Path = args.file
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise CommandError(f"{path}: cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: the file is not UTF-8 text") from None
    who = f"{getpass.getuser()} (inbound rules import)"
    service, number = complete(_store(settings.database_url, settings.rules_dir, text, args, who))
    print(f"service {service}: managed in inbound from now on, version {number} from {path}")
    in_folder = path.resolve().is_relative_to(settings.rules_dir.resolve())
    if in_folder:
        print(
            f"now remove {path} from the rules folder ({settings.rules_dir}). Until you do, "
            "running processes keep the rules they have (the same as this file's), a reload "
            "refuses the folder, and a process starting refuses to start: one service can't "
            "be in both."
        )
    else:
        print(
            f"if the rules folder ({settings.rules_dir}) has a file for {service}, remove it; "
            "until then a process starting refuses to start"
        )
    return 0


async def _store(
    url: str, folder: Path, text: str, args: argparse.Namespace, who: str
) -> tuple[str, int]:
    from inbound.managed_rules import Actor, Conflict, Invalid, ManagedRules
    from inbound.store.database import session_factory

    async with database(url) as engine:
        managed = ManagedRules(session_factory(engine), folder)
        try:
            return await managed.import_rules(text, args.reason, Actor(who))
        except Conflict as conflict:
            raise CommandError(str(conflict)) from None
        except Invalid as invalid:
            raise CommandError(_problems(invalid, args.file)) from None


def register(rules: Subcommands) -> None:
    """Add `export` and `import` under `inbound rules`."""
    text = (
        "Print a service's rules in force as YAML (from its file, or its latest version); "
        "with --to-files, move a service managed in inbound back to a rule file."
    )
    details = (
        "Moving both ways: `inbound rules import FILE` makes a rule file's service managed in "
        "inbound (then remove the file); `inbound rules export SERVICE --to-files` writes its "
        "version in force as a rule file in INBOUND_RULES_DIR (SERVICE.yaml, or --file) and "
        "makes it managed in files again.\n\n"
        "The move is audited (rules_moved_to_files) and keeps the service's versions: a later "
        "import stores the next version after the last. Running processes go from the version "
        "to the file within 2 s, with the same rules throughout: the version stays in force "
        "until the file is in the folder. An existing file is never replaced unless "
        "--overwrite; a move that failed half way is finished by running it again."
    )
    export = add_command(
        rules,
        "export",
        text,
        details=details,
        reads="Reads INBOUND_DATABASE_URL and INBOUND_RULES_DIR.",
    )
    export.add_argument("service", help="the service's id")
    export.add_argument(
        "--to-files",
        action="store_true",
        help="move the service back to a rule file: managed in files from now on",
    )
    export.add_argument(
        "--file",
        type=Path,
        metavar="PATH",
        help="with --to-files: the rule file to write, inside INBOUND_RULES_DIR "
        "(default: SERVICE.yaml there)",
    )
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="with --to-files: replace the file if it exists (never another service's file)",
    )
    export.add_argument(
        "--reason",
        help="with --to-files: why, kept in the audit log (default: moved back to a rule file)",
    )
    export.set_defaults(handler=_export)

    text = "Make a rule file's service managed in inbound: its content becomes a version."
    details = (
        "The file is checked as the processes would load it; the version is audited. Then "
        "remove the file from the rules folder: one service can't be both in a file and in "
        "inbound (a process refuses such a folder), and from now on its rules change by drafts "
        "and publishing (the API, docs/rules.md). A service moved back to files before is "
        "imported as the next version after its last. The way back: `inbound rules export "
        "SERVICE --to-files`."
    )
    imported = add_command(
        rules,
        "import",
        text,
        details=details,
        reads="Reads INBOUND_DATABASE_URL and INBOUND_RULES_DIR.",
    )
    imported.add_argument("file", type=Path, help="the service's rule file")
    imported.add_argument(
        "--reason",
        default="imported from its rule file",
        help="why, kept with the version (default: imported from its rule file)",
    )
    imported.set_defaults(handler=_import)
