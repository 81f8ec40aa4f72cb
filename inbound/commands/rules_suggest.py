"""`inbound rules suggest SERVICE`: keywords learnt from caseworkers' decisions (docs/rules.md).

Reads the service's rules as the processes load them (its rule file in INBOUND_RULES_DIR, or
its version managed in inbound) and its decisions and replies from INBOUND_DATABASE_URL;
writes nothing.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
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
    from inbound.rules.model import ServiceRules
    from inbound.rules.suggestions import Suggestion

DEFAULT_DAYS = 30  # as inbound.rules.suggestions.DEFAULT_DAYS, which the parser must not load


def _suggest(args: argparse.Namespace) -> int:
    from inbound.commands.rules_managed import rule_book

    if args.min < 1:
        raise CommandError("--min must be at least 1")
    if not 0 < args.days <= 366:  # MAX_DAYS
        raise CommandError("--days must be from 1 to 366")
    settings = load_settings()
    known = rule_book(settings).services
    rules = known.get(args.service)
    if rules is None:
        raise CommandError(
            f"no service {args.service!r} in the rule files or managed in inbound "
            f"({', '.join(sorted(known))})"
        )
    since = datetime.now(UTC) - timedelta(days=args.days)
    found = complete(_mine(settings.database_url, rules, since, args.min))
    if args.json:
        from inbound.rules.suggestions import as_json

        print(json.dumps([as_json(one) for one in found], ensure_ascii=False, indent=2))
        return 0
    _print(found, rules, args)
    return 0


async def _mine(url: str, rules: ServiceRules, since: datetime, minimum: int) -> list[Suggestion]:
    from inbound.rules.suggestions import suggest
    from inbound.store.database import session_factory
    from inbound.store.rule_suggestions import window

    # Read-only: the session is never committed.
    async with database(url) as engine, session_factory(engine)() as session:
        decisions, replies = await window(session, rules, since)
    return suggest(rules, decisions, replies, minimum)


def _print(found: list[Suggestion], rules: ServiceRules, args: argparse.Namespace) -> None:
    window = f"the last {args.days:g} days"
    if not found:
        print(
            f"no suggestions for {rules.service.id}: no reply was decided the same way "
            f"{args.min} times or more, and never otherwise, in {window}"
        )
        return
    keywords = "keyword" if len(found) == 1 else "keywords"
    print(f"{len(found)} suggested {keywords} for {rules.service.id} from {window}:")
    for one in found:
        where = f"add to rule '{one.rule}'" if one.rule else "a new rule"
        text = json.dumps(one.text, ensure_ascii=False)
        print(f"  {text} -> {one.action.value} ({where})")
        ids = ", ".join(str(n) for n in one.item_ids)
        print(f"      decided so {one.decisions} times, never otherwise (review items {ids})")
        impact = one.impact
        print(
            f"      replayed over {impact.replayed} replies: {impact.newly_automatic} review "
            f"items handled automatically, {impact.changed} automatic outcomes changed"
        )
    print("\nNothing was changed: add the keywords you agree with to the rule file.")


def register(subcommands: Subcommands) -> None:
    """Add `rules suggest` to `inbound rules`."""
    text = "Suggest keywords from the replies caseworkers decided the same way every time."
    details = (
        "A reply (compared as the rules compare it: case, punctuation and emoji aside) that "
        "caseworkers decided with the same action at least --min times, and never otherwise "
        "(a dismissal counts as otherwise), is suggested as a keyword for that action, unless "
        "the rules already do that, or the keyword would change any automatic outcome of the "
        "replies stored in the last --days days. Each suggestion shows the review items behind "
        "it and that replay. Nothing is written: suggestions never publish themselves."
    )
    suggest = add_command(
        subcommands,
        "suggest",
        text,
        details=details,
        reads="Reads INBOUND_RULES_DIR and INBOUND_DATABASE_URL.",
    )
    suggest.add_argument("service", help="the service's id, e.g. appointments")
    suggest.add_argument(
        "--min",
        type=int,
        default=3,
        metavar="N",
        help="how many decisions a reply needs, all the same (default: 3)",
    )
    suggest.add_argument(
        "--days",
        type=float,
        default=DEFAULT_DAYS,
        metavar="DAYS",
        help=f"decisions and replies of the last DAYS days (default: {DEFAULT_DAYS})",
    )
    suggest.add_argument("--json", action="store_true", help="print the suggestions as JSON")
    suggest.set_defaults(handler=_suggest)
