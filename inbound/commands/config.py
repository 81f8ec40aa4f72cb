"""`inbound config`: the settings in force, or the reference of every setting."""

from __future__ import annotations

import argparse

from inbound.commands.context import Subcommands, add_command, load_settings


def _command(args: argparse.Namespace) -> int:
    from inbound.config import Settings, reference

    if args.reference:
        print(reference())
        return 0
    settings = load_settings()
    for name in Settings.model_fields:
        value = getattr(settings, name)
        print(f"INBOUND_{name.upper()}={'' if value is None else value}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `config` to the top-level parser."""
    text = "Print the settings in force (secrets hidden), or every setting with --reference."
    config = add_command(commands, "config", text)
    config.add_argument(
        "--reference",
        action="store_true",
        help="print every setting as a Markdown table (docs/configuration.md is this output)",
    )
    config.set_defaults(handler=_command)
