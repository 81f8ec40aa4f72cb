"""`inbound users …`: accounts for the review queue, for administrators.

- `add EMAIL --service S --role R`         create a user (or give an existing one a role)
- `list`                                  every account, its roles and whether it is disabled
- `role EMAIL --service S --role R`       change a role; `--remove` takes the service away
- `disable EMAIL` / `enable EMAIL`        stop (or allow again) every way in, at once
- `remove EMAIL`                          disable and anonymise, keeping the audit trail
- `reset-password EMAIL`                  a new password; ends the user's sessions
- `token EMAIL --name N`                  the old way to make an API token: `inbound tokens add`

Also what the account commands share (inbound.commands.tokens uses it): one transaction, the
user named on the command line, who ran it, and a plain table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
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

    from inbound.store.models import User
    from inbound.store.users import Scope

# Each handler imports the store and argon2 when it runs: every command module is loaded to
# build the parser. The roles are repeated here for the same reason (a test keeps them equal).
ROLES = ("caseworker", "service_admin", "platform_admin")
SERVICE_ROLES = ("caseworker", "service_admin")

T = TypeVar("T")


# -- shared by the account commands ------------------------------------------------------------


def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one database transaction: committed if it returns, rolled back if not."""
    from inbound.store.database import session_factory

    settings = load_settings()

    async def go() -> T:
        async with (
            database(settings.database_url) as engine,
            session_factory(engine).begin() as session,
        ):
            return await work(session)

    return complete(go())


async def user_named(session: AsyncSession, email: str) -> User:
    """The account with this email, or a one-line CommandError (removed accounts included)."""
    from inbound.store.users import Users, is_removed

    user = await Users(session).by_email(email)
    if user is None:
        raise CommandError(f"no user {email.strip().lower()!r}")
    if is_removed(user):
        raise CommandError(f"{user.email} is a removed account")
    return user


def operator() -> str:
    """Who ran the command, for the audit log (the login name, as far as the OS can tell)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no name
        return "unknown"


def stamp(when: datetime | None, never: str = "never") -> str:
    """A time for the terminal: UTC to the minute."""
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else never


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column isn't padded."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _roles_text(scope: Scope) -> str:
    roles = [f"{role} of {service}" for service, role in sorted(scope.roles.items())]
    if scope.unassigned:
        roles.append("platform_admin")
    return ", ".join(roles) or "no roles"


def _known_service(service: str) -> None:
    from inbound.commands.rules_managed import rule_book

    known = rule_book(load_settings()).services
    if service not in known:
        raise CommandError(f"no service {service!r} in the rule files ({', '.join(sorted(known))})")


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(the password, whether it was generated and must be printed)."""
    from inbound.review import auth

    if args.password_stdin:
        given = sys.stdin.readline().rstrip("\n")
        if len(given) < 12:
            raise CommandError("a password needs at least 12 characters")
        return given, False
    return auth.new_password(), True


# -- the commands ------------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> int:
    from inbound.review import auth
    from inbound.store.users import Audit, Users, is_removed

    if args.role != "platform_admin":
        if not args.service:
            raise CommandError(f"--service is required for role {args.role}")
        _known_service(args.service)
    email = args.email.strip().lower()
    if "@" not in email:
        raise CommandError(f"{args.email!r} is not an email address")

    async def work(session: AsyncSession) -> tuple[str | None, bool]:
        users = Users(session)
        user = await users.by_email(email)
        password = None
        if user is None:
            password, _ = _password(args)
            user = await users.add(email, auth.hash_password(password))
            await Audit(session).record(
                "user_added", user_id=user.id, subject=email, detail=f"by {operator()}"
            )
        elif is_removed(user):
            raise CommandError(f"{email} is a removed account")
        await users.grant(user, args.service, args.role)
        await Audit(session).record(
            "role_granted",
            user_id=user.id,
            service_id=args.service if args.role != "platform_admin" else None,
            subject=email,
            detail=f"{args.role}; by {operator()}",
        )
        return password, user.disabled_at is not None

    password, disabled = in_transaction(work)
    where = f"service {args.service}" if args.role != "platform_admin" else "the platform"
    print(f"{email}: {args.role} of {where}")
    if password is not None and not args.password_stdin:
        print(f"initial password (pass it on privately): {password}")
        print("they enrol a two-factor app at their first sign-in")
    if disabled:
        print(f"the account is disabled: `inbound users enable {email}` lets them sign in")
    return 0


def _list(args: argparse.Namespace) -> int:
    from inbound.store.models import User
    from inbound.store.users import Users, is_removed

    async def work(session: AsyncSession) -> list[list[str]]:
        from sqlalchemy import select

        users = Users(session)
        rows = []
        for user in (await session.scalars(select(User).order_by(User.id))).all():
            if is_removed(user):
                state = "removed"
            elif user.disabled_at is not None:
                state = f"disabled {stamp(user.disabled_at)}"
            else:
                state = "active"
            two_factor = "enrolled" if user.totp_secret else "not yet"
            roles = _roles_text(await users.scope(user))
            rows.append([str(user.id), user.email, roles, two_factor, state])
        return rows

    rows = in_transaction(work)
    if not rows:
        print("no users yet: `inbound users add EMAIL --service S` makes one", file=sys.stderr)
        return 0
    print(table(["ID", "EMAIL", "ROLES", "TWO-FACTOR", "STATE"], rows))
    return 0


def _role(args: argparse.Namespace) -> int:
    from inbound.store.users import Audit, Users

    platform = args.role == "platform_admin"
    if args.service and platform:
        raise CommandError("platform_admin is platform-wide: leave out --service")
    if not args.service and not platform:
        raise CommandError("say which service (--service ID), or --role platform_admin")
    if not args.remove:
        if args.role is None:
            raise CommandError("say which role (--role caseworker|service_admin), or --remove")
        if args.service:
            _known_service(args.service)
    service = None if platform else args.service

    async def work(session: AsyncSession) -> tuple[str, str]:
        user = await user_named(session, args.email)
        users = Users(session)
        if args.remove:
            if not await users.take_away(user, service):
                had = "is not a platform_admin" if platform else f"has no role in {service}"
                raise CommandError(f"{user.email} {had}")
            action, detail = "role_removed", args.role or "service"
        else:
            await users.grant(user, service, args.role)
            action, detail = "role_granted", args.role
        await Audit(session).record(
            action,
            user_id=user.id,
            service_id=service,
            subject=user.email,
            detail=f"{detail}; by {operator()}",
        )
        return user.email, _roles_text(await users.scope(user))

    email, roles = in_transaction(work)
    print(f"{email}: {roles}")
    print("in force from their next request (page or API call)")
    return 0


def _disable(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from inbound.store.users import Audit, Users

    async def work(session: AsyncSession) -> tuple[str, int]:
        user = await user_named(session, args.email)
        if user.disabled_at is not None:
            raise CommandError(
                f"{user.email} is already disabled (since {stamp(user.disabled_at)})"
            )
        revoked = await Users(session).disable(user, datetime.now(UTC))
        await Audit(session).record(
            "user_disabled",
            user_id=user.id,
            subject=user.email,
            detail=f"{revoked} tokens revoked, sessions ended; by {operator()}",
        )
        return user.email, revoked

    email, revoked = in_transaction(work)
    print(f"{email}: disabled; their sessions are ended and {_tokens(revoked)} revoked")
    print(f"`inbound users enable {email}` undoes it (tokens stay revoked)")
    return 0


def _enable(args: argparse.Namespace) -> int:
    from inbound.store.users import Audit, Users

    async def work(session: AsyncSession) -> str:
        user = await user_named(session, args.email)
        if user.disabled_at is None:
            raise CommandError(f"{user.email} is not disabled")
        await Users(session).enable(user)
        await Audit(session).record(
            "user_enabled", user_id=user.id, subject=user.email, detail=f"by {operator()}"
        )
        return user.email

    email = in_transaction(work)
    print(f"{email}: enabled; they sign in as before (tokens revoked on disabling stay revoked)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from inbound.store.users import Audit, Users

    async def work(session: AsyncSession) -> tuple[int, str, int]:
        user = await user_named(session, args.email)
        former = user.email
        revoked = await Users(session).remove(user, datetime.now(UTC))
        # The one record linking the id to the person, so past actions stay attributable.
        await Audit(session).record(
            "user_removed",
            user_id=user.id,
            subject=former,
            detail=f"now {user.email}; {revoked} tokens revoked; by {operator()}",
        )
        return user.id, user.email, revoked

    user_id, anonymous, revoked = in_transaction(work)
    email = args.email.strip().lower()
    print(f"{email}: removed. Account {user_id} is now {anonymous}: disabled, no password,")
    print(f"no two-factor key, no roles; sessions ended, {_tokens(revoked)} revoked.")
    print(f"Audit events, notes and decisions still name user {user_id}; the audit log is left")
    print("as it was (its events keep what they recorded) and its user_removed event links the")
    print(f"former address to user {user_id}. {email} can be added again as a new account.")
    return 0


def _tokens(count: int) -> str:
    return f"{count} API token{'' if count == 1 else 's'}"


def _reset(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from inbound.review import auth
    from inbound.store.users import Audit, Users

    password, generated = _password(args)

    async def work(session: AsyncSession) -> tuple[str, int]:
        user = await user_named(session, args.email)
        user.password_hash = auth.hash_password(password)
        revoked = 0
        if args.reset_two_factor:
            # A reset second factor means the account may be in the wrong hands: its tokens
            # must not outlive the sessions.
            revoked = await Users(session).reset_two_factor(user, datetime.now(UTC))
        await Users(session).end_sessions(user.id)
        what = "password and two-factor" if args.reset_two_factor else "password"
        await Audit(session).record(
            "password_reset",
            user_id=user.id,
            subject=user.email,
            detail=f"{what}; {revoked} tokens revoked; by {operator()}",
        )
        return user.email, revoked

    email, revoked = in_transaction(work)
    print(f"{email}: password reset; their sessions are ended")
    if args.reset_two_factor:
        print(
            f"two-factor reset: they enrol again at their next sign-in; {_tokens(revoked)} revoked"
        )
    if generated:
        print(f"new password (pass it on privately): {password}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from inbound.commands import tokens

    print(
        "note: `inbound users token` is now "
        f"`inbound tokens add --user {args.email} --name {args.name}`",
        file=sys.stderr,
    )
    return tokens.add_token(args.email, args.name, tokens.DEFAULT_DAYS)


def register(commands: Subcommands) -> None:
    """Add `users` and its subcommands to the top-level parser."""
    users = add_command(
        commands,
        "users",
        "Manage review-queue accounts.",
        details="API tokens acting as a user: `inbound tokens`.",
    )
    sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    reads = "Reads INBOUND_DATABASE_URL."
    with_rules = "Reads INBOUND_DATABASE_URL, and INBOUND_RULES_DIR for --service."

    text = "Create a user or give one a role; prints a generated initial password."
    add = add_command(sub, "add", text, reads=with_rules)
    add.add_argument("email", help="their email address, which they sign in with")
    add.add_argument("--service", help="the service id (not for platform_admin)")
    add.add_argument("--role", choices=ROLES, default="caseworker", help="default: caseworker")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the initial password (12 characters or more) from stdin",
    )
    add.set_defaults(handler=_add)

    text = "List every account: its roles, two-factor enrolment and whether it is disabled."
    listing = add_command(sub, "list", text, reads=reads)
    listing.set_defaults(handler=_list)

    text = "Give a user a role in a service, change it, or take the service away (--remove)."
    details = (
        "In force from the user's next page or API request. `--role platform_admin` (no "
        "--service) grants the platform-wide role; with --remove it takes it away."
    )
    role = add_command(sub, "role", text, details=details, reads=with_rules)
    role.add_argument("email", help="the user's email address")
    role.add_argument("--service", metavar="ID", help="the service id, as in the rule files")
    role.add_argument("--role", choices=ROLES, help="caseworker or service_admin (per service)")
    role.add_argument(
        "--remove", action="store_true", help="take the service (or platform_admin) away"
    )
    role.set_defaults(handler=_role)

    text = "Disable a user: no sign-in; their sessions end and their API tokens are revoked."
    details = "All at once, in one transaction. `enable` undoes it; revoked tokens stay revoked."
    disable = add_command(sub, "disable", text, details=details, reads=reads)
    disable.add_argument("email", help="the user's email address")
    disable.set_defaults(handler=_disable)

    text = "Let a disabled user sign in again (their old tokens stay revoked)."
    enable = add_command(sub, "enable", text, reads=reads)
    enable.add_argument("email", help="the user's email address")
    enable.set_defaults(handler=_enable)

    text = "Remove a user: disable the account and anonymise it, keeping the audit trail."
    details = (
        "The account keeps its id, so audit events, notes and decisions still name it, but its "
        "email becomes removed-<id>@removed.invalid and its password, two-factor key and roles "
        "are deleted; sessions end and tokens are revoked. The audit log is left as it was, and "
        "its user_removed event links the former address to the id. It can't be undone: "
        "`disable` is the reversible way."
    )
    remove = add_command(sub, "remove", text, details=details, reads=reads)
    remove.add_argument("email", help="the user's email address")
    remove.set_defaults(handler=_remove)

    text = "Set a new password (generated, or from stdin) and end the user's sessions."
    reset = add_command(sub, "reset-password", text, reads=reads)
    reset.add_argument("email", help="the user's email address")
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password (12 characters or more) from stdin",
    )
    reset.add_argument(
        "--reset-two-factor",
        action="store_true",
        help="make them enrol a new TOTP app; also revokes their API tokens",
    )
    reset.set_defaults(handler=_reset)

    text = "Old name of `inbound tokens add --user EMAIL --name N` (still works)."
    token = add_command(sub, "token", text, reads=reads)
    token.add_argument("email", help="the user's email address")
    token.add_argument("--name", default="api", help="what the token is for (default: api)")
    token.set_defaults(handler=_token)
