"""What every subcommand shares: settings, the database, and failures told in one line.

Every command module is imported to build the parser, so this one imports nothing heavy at the
top: settings (pydantic-settings) and the database (SQLAlchemy) load when a command uses them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from inbound.config import Settings

SETTINGS_POINTER = "Every setting and its default: `inbound config --reference`."

# What register(subparsers) receives (a string: the class is generic only to type checkers).
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T")

RABBITMQ_HINT = (
    "start one with `rabbitmq-server -detached` (Debian/Ubuntu: apt-get install rabbitmq-server) "
    "or `docker run -d -p 5672:5672 rabbitmq:3`, or set INBOUND_AMQP_URL"
)


class HelpFormat(argparse.HelpFormatter):
    """Wraps each paragraph of a description or epilog by itself (argparse runs them together)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(fill(part, width, indent) for part in text.split("\n\n"))


def add_command(
    commands: Subcommands, name: str, text: str, *, details: str = "", reads: str = ""
) -> argparse.ArgumentParser:
    """A subcommand: `text` in its parent's list, `details` too in its own --help, then the
    settings it reads and where every setting is described."""
    return commands.add_parser(
        name,
        help=text,
        description=f"{text} {details}".strip(),
        epilog=f"{reads}\n\n{SETTINGS_POINTER}" if reads else None,
        formatter_class=HelpFormat,
    )


class CommandError(Exception):
    """A failure explained in one line to the person at the terminal (exit status 2)."""


def load_settings() -> Settings:
    """The settings from the environment, or a CommandError naming the bad variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from inbound.config import Settings

    try:
        return Settings()
    except SettingsError as error:
        raise CommandError(f"invalid configuration: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"INBOUND_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise CommandError(f"invalid configuration: {problems}") from None


def complete(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work to the end (asyncio.run; asyncio itself loads only now)."""
    import asyncio

    return asyncio.run(work)


@asynccontextmanager
async def database(url: str, *, migrating: bool = False) -> AsyncIterator[AsyncEngine]:
    """An engine on a database that exists and answers; disposed of afterwards.

    A missing SQLite file is an error (SchemaOutOfDate, naming the path) unless `migrating`:
    only `inbound migrate` makes one. Failing to connect is a one-line DatabaseUnreachable.
    """
    from sqlalchemy.exc import DBAPIError

    from inbound.store.database import create_engine
    from inbound.store.reachable import reach, require_file

    if not migrating:
        require_file(url)
    engine = create_engine(url)
    try:
        await reach(engine)
        try:
            yield engine
        except DBAPIError:
            # A query failing on a database that answers is most often a schema never migrated
            # or out of date: say that (one line) rather than print the SQL error. Not while
            # migrating: then the migration's own error is the one to read.
            if not migrating:
                from inbound.store.migrate import require_current

                await require_current(engine)
            raise
    finally:
        await engine.dispose()


def explain(error: BaseException) -> str | None:
    """The one line to print for a failure the person at the terminal can fix; None for a bug.

    Each kind is looked for only when its module is loaded: an error from a module never
    imported can't have been raised, and importing it here would slow every command down.
    """
    loaded = sys.modules
    if "inbound.rules.load" in loaded:
        from inbound.rules.load import RuleFileError, RuleSetError

        if isinstance(error, RuleSetError | RuleFileError):
            return f"rule files are invalid:\n{error}"
    if "inbound.store.reachable" in loaded:
        from inbound.store.reachable import DatabaseUnreachable, SchemaOutOfDate

        if isinstance(error, DatabaseUnreachable | SchemaOutOfDate):
            return str(error)
    if "inbound.broker.connection" in loaded:
        from inbound.broker.connection import BrokerRefused, BrokerUnreachable

        if isinstance(error, BrokerRefused):
            return f"INBOUND_AMQP_URL: {error}"
        if isinstance(error, BrokerUnreachable):
            return f"{error}; {RABBITMQ_HINT}"
    if "inbound.review.secret_box" in loaded:
        from inbound.review.secret_box import SecretKeyError

        if isinstance(error, SecretKeyError):
            return str(error)
    if "inbound.bootstrap" in loaded:
        from inbound.bootstrap import StartupError

        if isinstance(error, StartupError):
            return str(error)
    return None
