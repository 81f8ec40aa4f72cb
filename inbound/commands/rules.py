"""`inbound rules …`: commands for service teams writing keyword rules.

- `check`   validate rule files; errors and warnings name the file and line
- `test`    show what a rule file decides for a reply, and why
- `replay`  run a rule file over stored messages and show what would change
- `schema`  print the JSON Schema of a rule file, for editors
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from inbound import phone
from inbound.commands.context import CommandError, load_settings
from inbound.rules.load import check, load_file
from inbound.rules.match import Decision, Matcher
from inbound.rules.model import ServiceRules
from inbound.store.database import create_engine, session_factory
from inbound.store.history import PastMessage, messages_for_service

SCHEMA_ID = "https://inbound.example/schemas/rule-file.json"


# -- check ----------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
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
    if path.is_dir():
        raise CommandError(f"{path} is a folder: give one rule file")
    if not path.exists():
        raise CommandError(f"{path}: no such rule file")
    return load_file(path)  # a RuleFileError prints as "rule files are invalid", exit 2


def _test(args: argparse.Namespace) -> int:
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


@dataclass(frozen=True)
class Change:
    """One stored message the new rules would treat differently."""

    message: PastMessage
    before: str  # an action, or "review"
    after: Decision


@dataclass
class ReplaySummary:
    """Counts for a replay, and the changed messages in the order they arrived."""

    replayed: int = 0
    purged: int = 0
    automatic_before: int = 0
    automatic_after: int = 0
    newly_automatic: int = 0  # review items the new rules would have handled
    newly_review: int = 0  # automatic outcomes the new rules would send to a person
    different_action: int = 0  # automatic outcomes with another action
    changes: list[Change] = field(default_factory=list)


def replay(matcher: Matcher, history: Iterable[PastMessage]) -> ReplaySummary:
    """Decide every stored message again and compare with what happened. Pure."""
    summary = ReplaySummary()
    for past in history:
        if past.text is None:
            summary.purged += 1
            continue
        summary.replayed += 1
        decision = matcher.decide(past.text)
        was = past.action
        now = str(decision.action) if decision.automatic else None
        summary.automatic_before += was is not None
        summary.automatic_after += now is not None
        if was == now:
            continue
        if was is None:
            summary.newly_automatic += 1
        elif now is None:
            summary.newly_review += 1
        else:
            summary.different_action += 1
        summary.changes.append(Change(past, was or "review", decision))
    return summary


def _replay(args: argparse.Namespace) -> int:
    rules = _load_one(args.file)
    if args.since <= 0:
        raise CommandError("--since must be a positive number of days")
    settings = load_settings()
    since = datetime.now(UTC) - timedelta(days=args.since)
    matcher = Matcher(rules)

    async def go() -> ReplaySummary:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                history = messages_for_service(
                    session, rules.service.id, rules.service.numbers, since
                )
                return replay(matcher, [past async for past in history])
        finally:
            await engine.dispose()

    summary = asyncio.run(go())
    _print_replay(summary, rules, args.since)
    return 0


def _print_replay(summary: ReplaySummary, rules: ServiceRules, days: float) -> None:
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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rules` and its subcommands to the top-level parser."""
    text = "Work with service rule files: check, test, replay, schema."
    rules = commands.add_parser("rules", help=text, description=text)
    subcommands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")

    text = (
        "Validate rule files; errors and warnings (carrier opt-out words, keywords shared "
        "between rules, unreachable rules) name the file and line. Exit 1 on errors."
    )
    check_command = subcommands.add_parser("check", help=text, description=text)
    check_command.add_argument(
        "path", nargs="?", type=Path, help="a rule file or folder (default: INBOUND_RULES_DIR)"
    )
    check_command.set_defaults(handler=_check)

    text = "Show what a rule file decides for a reply, and why."
    test = subcommands.add_parser(
        "test",
        help=text,
        description=text
        + " With --json (or --stdin) each decision is one JSON object with action (manual "
        "when a person would decide), rule, captures and reason.",
    )
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

    text = (
        "Run a rule file over stored messages and print what would change compared with what "
        "happened: review items it would handle, automatic outcomes it would change. Reads "
        "INBOUND_DATABASE_URL; numbers are shown masked."
    )
    replay_command = subcommands.add_parser("replay", help=text, description=text)
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
    schema = subcommands.add_parser("schema", help=text, description=text)
    schema.set_defaults(handler=_schema)
