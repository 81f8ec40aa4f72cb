"""`inbound tokens …`: API tokens for the JSON API (/api). A personal token acts as one user;
a service token acts for one service's machines (e.g. sending prompts), with no user.

- `add (--user EMAIL | --service ID) --name NAME [--expires-in DAYS]`   print a new token
                                                                        (alone, on stdout)
- `add --service ID --name NAME --notify-key`   print an API key in GOV.UK Notify's format
- `list [--user EMAIL | --service ID]`      every token's id, owner, dates and state
- `revoke ID`                               stop a token working, at once

Only a token's SHA-256 is stored: `add` shows the token once and nothing shows it again. A
Notify-format key's secret is also kept, sealed with INBOUND_SECRET_KEY (docs/security.md).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from inbound.commands.context import CommandError, Subcommands, add_command, load_settings
from inbound.commands.users import (
    _known_service,
    in_transaction,
    operator,
    stamp,
    table,
    user_named,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from inbound.store.tokens import TokenListing

# Repeated from inbound.review.token_state (importing it would load the store for every
# command's --help); a unit test keeps them equal.
DEFAULT_DAYS = 90
LONGEST_DAYS = 365
LONGEST_NAME = 100


def _days(text: str) -> int:
    """--expires-in: a whole number of days, 1 to LONGEST_DAYS."""
    if not text.isdigit() or not 1 <= int(text) <= LONGEST_DAYS:
        raise argparse.ArgumentTypeError(f"a whole number of days from 1 to {LONGEST_DAYS}")
    return int(text)


def _name(text: str) -> str:
    """--name: what the token is for, as `tokens list` shows it."""
    name = text.strip()
    if not name or len(name) > LONGEST_NAME or not name.isprintable():
        raise argparse.ArgumentTypeError(f"1 to {LONGEST_NAME} printable characters")
    return name


def _token_id(text: str) -> int:
    """ID: a token's number, as `tokens list` shows it."""
    if not text.isdigit() or len(text) > 9:  # ids are 32-bit integers
        raise argparse.ArgumentTypeError("a token id, as `inbound tokens list` shows it")
    return int(text)


def add_token(email: str, name: str, days: int) -> int:
    """Make a token for the user; print it alone on stdout, and what it is on stderr."""
    from datetime import UTC, datetime, timedelta

    from inbound.review import auth
    from inbound.store.tokens import ApiTokens
    from inbound.store.users import Audit

    token = auth.new_token()

    async def work(session: AsyncSession) -> tuple[int, str, datetime]:
        user = await user_named(session, email)
        if user.disabled_at is not None:
            raise CommandError(f"{user.email} is disabled: `inbound users enable` them first")
        now = datetime.now(UTC)
        row = await ApiTokens(session).add(
            user.id, auth.token_hash(token), name, lifetime=timedelta(days=days), now=now
        )
        expires = row.expires_at or now
        await Audit(session).record(
            "token_added",
            user_id=user.id,
            subject=f"token {row.id}",
            detail=f"{name}; expires {stamp(expires)}; by {operator()}",
        )
        return row.id, user.email, expires

    token_id, owner, expires = in_transaction(work)
    print(token)
    print(
        f"token {token_id} ({name}) acts as {owner} until {stamp(expires)}, in {days} days. "
        f"It is shown once, above: store it now. `inbound tokens revoke {token_id}` stops it.",
        file=sys.stderr,
    )
    return 0


def add_service_token(service: str, name: str, days: int) -> int:
    """Make a token for a service's machines; print it alone on stdout, what it is on stderr."""
    from datetime import UTC, datetime, timedelta

    from inbound.review import auth
    from inbound.store.tokens import ApiTokens
    from inbound.store.users import Audit

    _known_service(service)
    token = auth.new_token()

    async def work(session: AsyncSession) -> tuple[int, datetime]:
        now = datetime.now(UTC)
        row = await ApiTokens(session).add_for_service(
            service, auth.token_hash(token), name, lifetime=timedelta(days=days), now=now
        )
        expires = row.expires_at or now
        await Audit(session).record(
            "token_added",
            service_id=service,
            subject=f"token {row.id}",
            detail=f"{name}; service token; expires {stamp(expires)}; by {operator()}",
        )
        return row.id, expires

    token_id, expires = in_transaction(work)
    print(token)
    print(
        f"token {token_id} ({name}) acts for service {service} until {stamp(expires)}, in "
        f"{days} days: its prompts API (/api/prompts) and received texts "
        f"(/api/received-text-messages), nothing else. It is shown once, "
        f"above: store it now. `inbound tokens revoke {token_id}` stops it.",
        file=sys.stderr,
    )
    return 0


def add_notify_key(service: str, name: str, days: int) -> int:
    """Make a key in GOV.UK Notify's format for a service; print it alone on stdout."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from inbound import notify_keys
    from inbound.review import auth
    from inbound.review.secret_box import SecretKeyError, box_for
    from inbound.store.tokens import ApiTokens, NotifyKeyToStore
    from inbound.store.users import Audit

    _known_service(service)
    settings = load_settings()
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    try:
        source = box_for(secret_key, settings.database_url)
    except SecretKeyError as error:
        raise CommandError(str(error)) from None
    box = source.box
    key = notify_keys.make_key(name, service, uuid.uuid4())
    stored = NotifyKeyToStore(auth.token_hash(key.key), str(key.issuer), box.seal(key.secret))

    async def work(session: AsyncSession) -> tuple[int, datetime]:
        now = datetime.now(UTC)
        row = await ApiTokens(session).add_notify_key(
            service, stored, name, lifetime=timedelta(days=days), now=now
        )
        expires = row.expires_at or now
        await Audit(session).record(
            "token_added",
            service_id=service,
            subject=f"token {row.id}",
            detail=f"{name}; Notify key; expires {stamp(expires)}; by {operator()}",
        )
        return row.id, expires

    token_id, expires = in_transaction(work)
    print(key.key)
    print(
        f"token {token_id} ({name}) is an API key in GOV.UK Notify's format for service "
        f"{service}, until {stamp(expires)}, in {days} days: give it to a Notify client, with "
        f"inbound's address as its base URL, to read received texts "
        f"(/v2/received-text-messages). It is shown once, above: store it now. "
        f"`inbound tokens revoke {token_id}` stops it. Its secret is sealed with "
        f"{source.source}: the server must have the same key to accept it.",
        file=sys.stderr,
    )
    return 0


def _add(args: argparse.Namespace) -> int:
    if args.notify_key:
        if args.service is None:
            raise CommandError("--notify-key makes a service's key: give --service ID")
        return add_notify_key(args.service, args.name, args.expires_in)
    if args.service is not None:
        return add_service_token(args.service, args.name, args.expires_in)
    return add_token(args.user, args.name, args.expires_in)


def _row(token: TokenListing) -> list[str]:
    return [
        str(token.id),
        token.name,
        token.owner,
        stamp(token.created_at),
        stamp(token.last_used_at),
        stamp(token.expires_at),
        token.state.value,
    ]


def _list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from inbound.store.tokens import ApiTokens

    async def work(session: AsyncSession) -> list[TokenListing]:
        owner = await user_named(session, args.user) if args.user else None
        return await ApiTokens(session).listing(
            datetime.now(UTC), owner.id if owner is not None else None, args.service
        )

    tokens = in_transaction(work)
    if not tokens:
        whose = f" for {args.user.strip().lower()}" if args.user else ""
        whose = f" for service {args.service}" if args.service else whose
        print(f"no API tokens{whose}: `inbound tokens add` makes one", file=sys.stderr)
        return 0
    headers = ["ID", "NAME", "OWNER", "CREATED", "LAST USED", "EXPIRES", "STATE"]
    print(table(headers, [_row(token) for token in tokens]))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from inbound.store.tokens import ApiTokens
    from inbound.store.users import Audit, Users

    async def work(session: AsyncSession) -> tuple[str, str]:
        tokens = ApiTokens(session)
        token = await tokens.get(args.id)
        if token is None:
            raise CommandError(f"no token {args.id} (`inbound tokens list` shows them)")
        if token.revoked_at is not None:
            raise CommandError(f"token {args.id} is already revoked ({stamp(token.revoked_at)})")
        await tokens.revoke(token, datetime.now(UTC))
        await Audit(session).record(
            "token_revoked",
            user_id=token.user_id,
            service_id=token.service_id,
            subject=f"token {token.id}",
            detail=f"{token.name}; by {operator()}",
        )
        if token.user_id is None:
            return token.name, f"service {token.service_id}"
        owner = await Users(session).get(token.user_id)
        return token.name, owner.email if owner is not None else "?"

    name, owner = in_transaction(work)
    acting = f"acting for {owner}" if owner.startswith("service ") else f"acting as {owner}"
    print(f"token {args.id} ({name}, {acting}) revoked: it is refused from now on")
    return 0


def register(commands: Subcommands) -> None:
    """Add `tokens` and its subcommands to the top-level parser."""
    tokens = add_command(
        commands,
        "tokens",
        "Manage API tokens: bearer credentials for /api, acting as a user or for a service.",
        details=(
            "A personal token (--user) has its user's services and roles, and stops working "
            "when it expires, is revoked, or its user is disabled or has two-factor reset. A "
            "service token (--service) is for a service's own machines: it may call that "
            "service's prompts API and read its received texts, nothing else; with "
            "--notify-key it is an API key in GOV.UK Notify's format instead, for Notify's "
            "clients. Only a token's SHA-256 is stored (and a Notify key's secret, sealed)."
        ),
    )
    sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="COMMAND")
    reads = "Reads INBOUND_DATABASE_URL."

    text = (
        "Make a token acting as a user (--user) or for a service (--service) and print it, "
        "alone on one line (shown once)."
    )
    details = (
        "Everything else goes to stderr, so `inbound tokens add ... > file` keeps just the "
        "token. Send it as `Authorization: Bearer <token>`."
    )
    add_reads = (
        "Reads INBOUND_DATABASE_URL, INBOUND_RULES_DIR for --service, and INBOUND_SECRET_KEY "
        "for --notify-key."
    )
    add = add_command(sub, "add", text, details=details, reads=add_reads)
    whose = add.add_mutually_exclusive_group(required=True)
    whose.add_argument("--user", metavar="EMAIL", help="the user it acts as")
    whose.add_argument(
        "--service",
        metavar="ID",
        help="the service it acts for (its prompts API and received texts)",
    )
    add.add_argument(
        "--name", required=True, type=_name, help="what it is for, e.g. crm (shown by list)"
    )
    add.add_argument(
        "--expires-in",
        type=_days,
        default=DEFAULT_DAYS,
        metavar="DAYS",
        help=f"days until it stops working (default: {DEFAULT_DAYS}, at most {LONGEST_DAYS})",
    )
    add.add_argument(
        "--notify-key",
        action="store_true",
        help="with --service: an API key in GOV.UK Notify's format ({name}-{uuid}-{uuid}), "
        "for Notify's clients reading received texts; its secret is kept sealed with "
        "INBOUND_SECRET_KEY",
    )
    add.set_defaults(handler=_add)

    text = "List tokens: id, name, owner, created, last used, expires, state. Never the token."
    details = "Times are UTC; last use is recorded to the minute."
    listing = add_command(sub, "list", text, details=details, reads=reads)
    only = listing.add_mutually_exclusive_group()
    only.add_argument("--user", metavar="EMAIL", help="only this user's tokens")
    only.add_argument("--service", metavar="ID", help="only this service's service tokens")
    listing.set_defaults(handler=_list)

    text = "Revoke a token: refused from the next request on. It can't be undone."
    revoke = add_command(sub, "revoke", text, reads=reads)
    revoke.add_argument("id", type=_token_id, metavar="ID", help="the id `tokens list` shows")
    revoke.set_defaults(handler=_revoke)
