"""`inbound rules export` and `inbound rules import`: move a service's rules between a rule
file and inbound's database (rules managed in inbound, docs/rules.md)."""

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
    from inbound.managed_rules import InForce
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
            problems = "\n".join(
                f"  {args.file}:{e.line or '-'}: {e.field + ': ' if e.field else ''}{e.problem}"
                f" — {e.fix}"
                for e in invalid.errors
            )
            raise CommandError(f"{invalid}\n{problems}".rstrip()) from None


def register(rules: Subcommands) -> None:
    """Add `export` and `import` under `inbound rules`."""
    text = "Print a service's rules in force as YAML (from its file, or its latest version)."
    export = add_command(rules, "export", text, reads="Reads INBOUND_DATABASE_URL.")
    export.add_argument("service", help="the service's id")
    export.set_defaults(handler=_export)

    text = "Make a rule file's service managed in inbound: its content becomes version 1."
    details = (
        "The file is checked as the processes would load it; the version is audited. Then "
        "remove the file from the rules folder: one service can't be both in a file and in "
        "inbound (a process refuses such a folder), and from now on its rules change by drafts "
        "and publishing (the API, docs/rules.md)."
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
