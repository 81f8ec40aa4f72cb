"""`inbound rules …`: commands for service teams writing keyword rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inbound.commands.context import load_settings
from inbound.rules.load import RuleFileError, RuleSetError, load_directory, load_file


def _check(args: argparse.Namespace) -> int:
    path: Path = args.path or load_settings().rules_dir
    try:
        if path.is_file():
            rules = load_file(path)
            print(f"{path}: ok, service {rules.service.id}, {len(rules.rules)} rules")
        else:
            book = load_directory(path)
            for service_rules in book.services.values():
                print(
                    f"ok: service {service_rules.service.id}, {len(service_rules.rules)} rules, "
                    f"numbers {', '.join(service_rules.service.numbers)}"
                )
            print(f"{path}: {len(book.services)} services")
    except (RuleFileError, RuleSetError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rules` and its subcommands to the top-level parser."""
    text = "Work with service rule files."
    rules = commands.add_parser("rules", help=text, description=text)
    subcommands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")

    text = "Validate rule files; errors name the file and line."
    check = subcommands.add_parser("check", help=text, description=text)
    check.add_argument(
        "path", nargs="?", type=Path, help="a rule file or folder (default: INBOUND_RULES_DIR)"
    )
    check.set_defaults(handler=_check)
