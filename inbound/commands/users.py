"""`inbound users …`: accounts for the review queue, for administrators.

- `add EMAIL --service S --role R`   create a user (or give an existing one a role)
- `reset-password EMAIL`             a new password; ends the user's sessions
- `token EMAIL --name N`             an API token acting as the user
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from inbound.commands.context import (
    CommandError,
    Subcommands,
    add_command,
    complete,
    database,
    load_settings,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# Each handler imports the store and argon2 when it runs: every command module is loaded to
# build the parser. The roles are repeated here for the same reason (a test keeps them equal).
ROLES = ("caseworker", "service_admin", "platform_admin")

T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from inbound.store.database import session_factory

    settings = load_settings()

    async def go() -> T:
        async with (
            database(settings.database_url) as engine,
            session_factory(engine).begin() as session,
        ):
            return await work(session)

    return complete(go())


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(the password, whether it was generated and must be printed)."""
    from inbound.review import auth

    if args.password_stdin:
        given = sys.stdin.readline().rstrip("\n")
        if len(given) < 12:
            raise CommandError("a password needs at least 12 characters")
        return given, False
    return auth.new_password(), True


def _add(args: argparse.Namespace) -> int:
    from inbound.review import auth
    from inbound.rules.load import load_directory
    from inbound.store.users import Users

    if args.role != "platform_admin":
        if not args.service:
            raise CommandError(f"--service is required for role {args.role}")
        known = load_directory(load_settings().rules_dir).services
        if args.service not in known:
            raise CommandError(
                f"no service {args.service!r} in the rule files ({', '.join(sorted(known))})"
            )
    email = args.email.strip().lower()
    if "@" not in email:
        raise CommandError(f"{args.email!r} is not an email address")

    async def work(session: AsyncSession) -> str | None:
        users = Users(session)
        user = await users.by_email(email)
        password = None
        if user is None:
            password, _ = _password(args)
            user = await users.add(email, auth.hash_password(password))
        await users.grant(user, args.service, args.role)
        return password

    password = _in_transaction(work)
    where = f"service {args.service}" if args.role != "platform_admin" else "the platform"
    print(f"{email}: {args.role} of {where}")
    if password is not None and not args.password_stdin:
        print(f"initial password (pass it on privately): {password}")
    print("they enrol a two-factor app at their first sign-in")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from inbound.review import auth
    from inbound.store.users import Users

    password, generated = _password(args)

    async def work(session: AsyncSession) -> bool:
        users = Users(session)
        user = await users.by_email(args.email)
        if user is None:
            return False
        user.password_hash = auth.hash_password(password)
        if args.reset_two_factor:
            user.totp_secret = None
        await users.end_sessions(user.id)
        return True

    if not _in_transaction(work):
        raise CommandError(f"no user {args.email!r}")
    print(f"{args.email}: password reset; their sessions are ended")
    if generated:
        print(f"new password (pass it on privately): {password}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from inbound.review import auth
    from inbound.store.users import ApiTokens, Users

    token = auth.new_token()

    async def work(session: AsyncSession) -> bool:
        user = await Users(session).by_email(args.email)
        if user is None:
            return False
        await ApiTokens(session).add(user.id, auth.token_hash(token), args.name)
        return True

    if not _in_transaction(work):
        raise CommandError(f"no user {args.email!r}")
    print(token)
    return 0


def register(commands: Subcommands) -> None:
    """Add `users` and its subcommands to the top-level parser."""
    users = add_command(commands, "users", "Manage review-queue accounts.")
    sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    reads = "Reads INBOUND_DATABASE_URL."

    text = "Create a user or give one a role; prints a generated initial password."
    add = add_command(
        sub, "add", text, reads="Reads INBOUND_DATABASE_URL, and INBOUND_RULES_DIR for --service."
    )
    add.add_argument("email", help="their email address, which they sign in with")
    add.add_argument("--service", help="the service id (not for platform_admin)")
    add.add_argument("--role", choices=ROLES, default="caseworker", help="default: caseworker")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the initial password (12 characters or more) from stdin",
    )
    add.set_defaults(handler=_add)

    text = "Set a new password (generated, or from stdin) and end the user's sessions."
    reset = add_command(sub, "reset-password", text, reads=reads)
    reset.add_argument("email", help="the user's email address")
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password (12 characters or more) from stdin",
    )
    reset.add_argument(
        "--reset-two-factor", action="store_true", help="make them enrol a new TOTP app"
    )
    reset.set_defaults(handler=_reset)

    text = "Print a new API token acting as the user (shown once)."
    token = add_command(sub, "token", text, reads=reads)
    token.add_argument("email", help="the user's email address")
    token.add_argument("--name", default="api", help="what the token is for (default: api)")
    token.set_defaults(handler=_token)
