"""The `inbound` command: the top-level parser, `--version`, and dispatch to inbound.commands.

Each command lives in `inbound/commands/<name>.py` with a `register(subparsers)` function, and
imports what it needs (the service, the database, the broker) only when it runs: building the
parser imports none of it, so `inbound --help` and the rule-file commands answer at once
(tests/unit/test_cli_imports.py keeps it so).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from inbound.commands import (
    callbacks,
    config,
    migrate,
    notify,
    prompts,
    purge,
    rules,
    run,
    send,
    spool,
    tokens,
    trace,
    users,
)
from inbound.commands.context import SETTINGS_POINTER, CommandError, HelpFormat, explain

# In the order `inbound --help` lists them: running it, then looking into it, then operating it.
COMMANDS = (
    run,
    migrate,
    config,
    trace,
    send,
    rules,
    prompts,
    notify,
    callbacks,
    spool,
    purge,
    users,
    tokens,
)

DESCRIPTION = "Receive SMS replies, act on them with keyword rules, queue the rest."
EPILOG = (
    "`inbound COMMAND --help` shows a command's options. Settings are INBOUND_* environment "
    "variables, chiefly INBOUND_DATABASE_URL, INBOUND_AMQP_URL and INBOUND_RULES_DIR.\n\n"
    + SETTINGS_POINTER
)


def version() -> str:
    """The installed package's version, from its metadata (pyproject.toml)."""
    from importlib import metadata  # here: it costs as much as building the whole parser

    try:
        return metadata.version("inbound")
    except metadata.PackageNotFoundError:
        # Run from a source tree that was never installed (`python -m inbound` on Cloud
        # Foundry): the version is in the pyproject.toml beside the package.
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            declared: str = tomllib.loads(pyproject.read_text())["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown (not installed)"
        return declared


class _Version(argparse.Action):
    """`--version`, reading the package metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: Any) -> None:
        super().__init__(
            option_strings, argparse.SUPPRESS, nargs=0, help="print the version and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(f"inbound {version()}")
        parser.exit()


def parser() -> argparse.ArgumentParser:
    """The `inbound` parser with every command registered."""
    top = argparse.ArgumentParser(
        prog="inbound", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormat
    )
    top.add_argument("--version", action=_Version)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `inbound` console script."""
    args = parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CommandError as error:
        print(f"inbound: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        explained = explain(error)
        if explained is None:
            raise  # a bug: the traceback is what a report needs
        print(f"inbound: {explained}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
