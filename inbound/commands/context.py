"""What every subcommand shares: loading settings, and the one-line error type."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import SettingsError

from inbound import config


class CommandError(Exception):
    """A failure explained in one line to the person at the terminal (exit status 2)."""


def load_settings() -> config.Settings:
    """The settings from the environment, or a CommandError naming the bad variable."""
    try:
        return config.Settings()
    except SettingsError as error:
        raise CommandError(f"invalid configuration: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"INBOUND_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise CommandError(f"invalid configuration: {problems}") from None
