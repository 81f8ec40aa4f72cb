"""`inbound rules …`: commands for service teams writing keyword rules.

- `check`   validate rule files; errors and warnings name the file and line
- `test`    show what a rule file decides for a reply, and why
- `replay`  run a rule file over stored messages and show what would change
- `schema`  print the JSON Schema of a rule file, for editors
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from inbound.commands.context import (
    CommandError,
    Subcommands,
    add_command,
    complete,
    database,
    load_settings,
)

if TYPE_CHECKING:
    from inbound.rules.match import Decision
    from inbound.rules.model import ServiceRules
    from inbound.rules.replay import ReplaySummary
    from inbound.store.history import PastMessage

# Each handler imports the rule engine (pydantic, YAML, phone numbers) when it runs, so that
# building the parser for `inbound --help` costs nothing.

SCHEMA_ID = "https://inbound.example/schemas/rule-file.json"


# -- check ----------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from inbound.rules.load import check

    path: Path = args.path or load_settings().rules_dir
    report = check(path)
    for service_path, rules in report.services:
        service = rules.service
        print(
            f"{service_path}: ok, service {service.id}, {len(rules.rules)} rules, "
            f"numbers {', '.join(service.numbers)}"
        )
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(error, file=sys.stderr)
    summary = (
        f"{len(report.services)} services, {len(report.errors)} errors, "
        f"{len(report.warnings)} warnings"
    )
    print(summary, file=sys.stderr if report.errors else sys.stdout)
    return 1 if report.errors else 0


# -- test -----------------------------------------------------------------------------------


def decision_json(decision: Decision) -> dict[str, Any]:
    """The `--json` form: `action` is `manual` whenever a person would decide."""
    return {
        "action": str(decision.action) if decision.automatic else "manual",
        "rule": decision.rule,
        "captures": dict(decision.captures),
        "reason": decision.reason,
    }


def _load_one(path: Path) -> ServiceRules:
    from inbound.rules.load import load_file

    if path.is_dir():
        raise CommandError(f"{path} is a folder: give one rule file")
    if not path.exists():
        raise CommandError(f"{path}: no such rule file")
    return load_file(path)  # a RuleFileError prints as "rule files are invalid", exit 2


def _test(args: argparse.Namespace) -> int:
    from inbound import phone
    from inbound.rules.match import Matcher

    rules = _load_one(args.file)
    matcher = Matcher(rules)
    sender = None
    if args.sender is not None:
        try:
            sender = phone.normalise(args.sender, rules.service.region)
        except phone.InvalidNumber:
            raise CommandError(f"--from {args.sender!r} is not a phone number") from None
    if args.stdin:
        for line in _lines(sys.stdin):
            print(json.dumps(decision_json(matcher.decide(line)), ensure_ascii=False), flush=True)
        return 0
    decision = matcher.decide(args.text)
    if args.json:
        print(json.dumps(decision_json(decision), ensure_ascii=False))
        return 0
    _print_decision(decision, rules, sender)
    return 0


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield line.removesuffix("\n").removesuffix("\r")


def _print_decision(decision: Decision, rules: ServiceRules, sender: str | None) -> None:
    from inbound import phone

    if decision.automatic:
        action = f"{decision.action} (automatic)"
    elif decision.action is not None:
        action = f"{decision.action} (a person decides)"
    else:
        action = "review (a person decides)"
    rows = [("service", rules.service.id)]
    if sender is not None:
        rows.append(("from", phone.mask(sender)))
    rows += [("action", action), ("rule", decision.rule or "-"), ("reason", decision.reason)]
    rows += [(f"  {name}", value) for name, value in decision.captures.items()]
    if decision.flags:
        rows.append(("flags", ", ".join(sorted(decision.flags))))
    if decision.reply:
        rows.append(("reply", decision.reply))
    for label, value in rows:
        print(f"{label:<9} {value}")


# -- replay ---------------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    if args.since <= 0:
        raise CommandError("--since must be a positive number of days")
    rules = _load_one(args.file)
    settings = load_settings()
    since = datetime.now(UTC) - timedelta(days=args.since)
    summary = complete(_replay_stored(settings.database_url, rules, since))
    _print_replay(summary, rules, args.since)
    return 0


async def _replay_stored(
    url: str, rules: ServiceRules, since: datetime
) -> ReplaySummary[PastMessage]:
    from inbound.rules.match import Matcher
    from inbound.rules.replay import replay
    from inbound.store.database import session_factory
    from inbound.store.history import messages_for_service

    matcher = Matcher(rules)
    async with database(url) as engine, session_factory(engine)() as session:
        history = messages_for_service(session, rules.service.id, rules.service.numbers, since)
        return replay(matcher, [past async for past in history])


def _print_replay(summary: ReplaySummary[PastMessage], rules: ServiceRules, days: float) -> None:
    from inbound import phone

    total = summary.replayed
    print(
        f"replayed {total} messages for service {rules.service.id} from the last {days:g} days"
        + (f" ({summary.purged} with text purged, skipped)" if summary.purged else "")
    )
    print(f"  automatic before: {summary.automatic_before}, with these rules: ", end="")
    print(summary.automatic_after)
    print(f"  review items these rules would handle: {summary.newly_automatic}")
    print(f"  automatic outcomes these rules would send to review: {summary.newly_review}")
    print(f"  automatic outcomes these rules would change: {summary.different_action}")
    print(f"  unchanged: {total - len(summary.changes)}")
    if not summary.changes:
        return
    print("\nchanges:")
    for change in summary.changes:
        past, after = change.message, change.after
        now = str(after.action) if after.automatic else "review"
        when = past.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        text = json.dumps(past.text, ensure_ascii=False)
        print(f"  {when}  {phone.mask(past.sender)}  {change.before} -> {now}  {text}")
        print(f"      now: {after.reason}")
        if change.before == "review" and past.review_reason:
            print(f"      was: {past.review_reason}")


# -- schema ---------------------------------------------------------------------------------


def rule_file_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, for editor completion and validation."""
    from inbound.rules.model import ServiceRules

    schema = ServiceRules.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "inbound rule file",
    }


def _schema(_: argparse.Namespace) -> int:
    print(json.dumps(rule_file_schema(), indent=2, ensure_ascii=False))
    return 0


# -- the parser -----------------------------------------------------------------------------


def register(commands: Subcommands) -> None:
    """Add `rules` and its subcommands to the top-level parser."""
    text = "Work with service rule files: check, test, replay, schema."
    rules = add_command(commands, "rules", text)
    subcommands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")

    text = "Validate rule files; errors and warnings name the file and line. Exit 1 on errors."
    details = (
        "Warnings (carrier opt-out words, keywords shared between rules, unreachable rules) "
        "don't fail the check."
    )
    check_command = add_command(subcommands, "check", text, details=details)
    check_command.add_argument(
        "path", nargs="?", type=Path, help="a rule file or folder (default: INBOUND_RULES_DIR)"
    )
    check_command.set_defaults(handler=_check)

    text = "Show what a rule file decides for a reply, and why."
    details = (
        "With --json (or --stdin) each decision is one JSON object with action (manual when a "
        "person would decide), rule, captures and reason."
    )
    test = add_command(subcommands, "test", text, details=details)
    test.add_argument("file", type=Path, help="the service's rule file")
    given = test.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the reply to decide, e.g. --text 'Yes please'")
    given.add_argument(
        "--stdin",
        action="store_true",
        help="read one reply per line from standard input; print one JSON object per line",
    )
    test.add_argument(
        "--from",
        dest="sender",
        metavar="NUMBER",
        help="the sender's number, checked and shown masked (decisions don't depend on it)",
    )
    test.add_argument("--json", action="store_true", help="print the decision as one JSON object")
    test.set_defaults(handler=_test)

    text = "Run a rule file over stored messages and print what would change."
    details = (
        "Compared with what happened: review items it would handle, automatic outcomes it "
        "would change. Numbers are shown masked."
    )
    replay_command = add_command(
        subcommands, "replay", text, details=details, reads="Reads INBOUND_DATABASE_URL."
    )
    replay_command.add_argument("file", type=Path, help="the service's (new) rule file")
    replay_command.add_argument(
        "--since",
        type=float,
        default=7,
        metavar="DAYS",
        help="replay messages received in the last DAYS days (default: 7)",
    )
    replay_command.set_defaults(handler=_replay)

    text = "Print the JSON Schema of a rule file, for editor completion and checks."
    schema = add_command(subcommands, "schema", text)
    schema.set_defaults(handler=_schema)
