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

from inbound.commands import rules_managed
from inbound.commands.context import (
    CommandError,
    Subcommands,
    add_command,
    complete,
    database,
    load_settings,
)
from inbound.commands.rules_suggest import register as register_suggest

if TYPE_CHECKING:
    from inbound.outcome import Route
    from inbound.rules.load import RuleFileError
    from inbound.rules.managed import Published
    from inbound.rules.match import Decision
    from inbound.rules.model import Action, ServiceRules
    from inbound.rules.replay import ReplaySummary
    from inbound.store.history import PastMessage

# Each handler imports the rule engine (pydantic, YAML, phone numbers) when it runs, so that
# building the parser for `inbound --help` costs nothing.

SCHEMA_ID = "https://inbound.example/schemas/rule-file.json"


# -- check ----------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from inbound.rules.load import check

    path: Path = args.path or load_settings().rules_dir
    folder = _folder_for(path) if path.is_file() else None
    report = check(path, folder)
    if folder is not None:
        print(f"{path}: checked beside the other services in {folder}/")
    for service_path, rules in report.services:
        service = rules.service
        print(
            f"{service_path}: ok, service {service.id}, {len(rules.rules)} rules, "
            f"numbers {', '.join(service.numbers)}{_canned(rules)}{_templates(rules)}"
        )
    for warning in report.warnings:
        print(f"warning: {warning}")
    staffing, errors = _from_database(report.services)
    for line in staffing:
        print(line)
    warnings = len(report.warnings) + sum(line.startswith("warning:") for line in staffing)
    errors = [*report.errors, *errors]
    for error in errors:
        print(error, file=sys.stderr)
    summary = f"{len(report.services)} services, {len(errors)} errors, {warnings} warnings"
    print(summary, file=sys.stderr if errors else sys.stdout)
    return 1 if errors else 0


def _folder_for(file: Path) -> Path:
    """The folder a single file is checked against: INBOUND_RULES_DIR, where inbound loads it
    from, when that is a folder; else the file's own folder."""
    try:
        folder = load_settings().rules_dir
    except CommandError:
        folder = None  # settings that don't load: `inbound run` would say so; check the file
    return folder if folder is not None and folder.is_dir() else file.parent


def _canned(rules: ServiceRules) -> str:
    """The ok line's end for a file with canned replies: their names, and whether caseworkers
    may send only these."""
    if not rules.replies:
        return ""
    only = " (caseworkers may send only these)" if rules.service.canned_replies_only else ""
    return f", canned replies {', '.join(repr(r.name) for r in rules.replies)}{only}"


def _templates(rules: ServiceRules) -> str:
    """The ok line's end for a file mapping Notify templates to prompts (docs/notify.md)."""
    count = len(rules.prompts.templates)
    if not count:
        return ""
    return f", prompts from {count} Notify template{'s' if count > 1 else ''}"


def _from_database(
    files: list[tuple[Path, ServiceRules]],
) -> tuple[list[str], list[RuleFileError]]:
    """What INBOUND_DATABASE_URL's database says of the checked services: a warning for each
    no one can work the review queue of, and an error for each file the processes would refuse
    beside the rules managed in inbound (the same service, or another's number or Notify
    template); a note for a file of a managed service outside the rules folder (a draft being
    written, say). A note, not a failure, when the database can't be read."""
    if not files:
        return [], []
    cannot = "note: couldn't check which services have a caseworker"
    nor = ", nor which are managed in inbound"
    try:
        settings = load_settings()
    except CommandError as error:
        return [f"{cannot} ({error}){nor}"], []
    url = settings.database_url
    absent = _absent_sqlite_file(url)
    if absent is not None:
        return [
            f"{cannot} (no database file at {absent}: set INBOUND_DATABASE_URL to inbound's){nor}"
        ], []
    from sqlalchemy.exc import SQLAlchemyError

    from inbound.review.coverage import warning
    from inbound.store.reachable import DatabaseUnreachable, SchemaOutOfDate

    services = [rules.service.id for _, rules in files]
    try:
        missing, published = complete(_read(url, services))
    except (DatabaseUnreachable, SchemaOutOfDate, SQLAlchemyError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return [f"{cannot} ({reason}){nor}"], []
    lines = [f"warning: {warning(service_id)}" for service_id in missing]
    return [*lines, *_elsewhere(files, published, settings.rules_dir)], _refused(
        files, published, settings.rules_dir
    )


def _in_folder(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _refused(
    files: list[tuple[Path, ServiceRules]], published: list[Published], folder: Path
) -> list[RuleFileError]:
    """The errors the processes' load would give these files beside the managed versions:
    a service in both (for files in the rules folder), numbers or templates claimed twice."""
    from inbound.rules.managed import clashes_with_published, in_both

    inside = [(path, rules) for path, rules in files if _in_folder(path, folder)]
    return [*in_both(inside, published), *clashes_with_published(files, published)]


def _elsewhere(
    files: list[tuple[Path, ServiceRules]], published: list[Published], folder: Path
) -> list[str]:
    """A note for each file outside the rules folder of a service managed in inbound."""
    managed = {v.service_id: v.number for v in published if not v.yields_to_file}
    return [
        f"note: {path}: service {rules.service.id!r} is managed in inbound (version "
        f"{managed[rules.service.id]}): in the rules folder ({folder}) this file would be "
        "refused beside it. Publish it as a draft (docs/rules.md), or move the service back "
        f"to files first: `inbound rules export {rules.service.id} --to-files`"
        for path, rules in files
        if rules.service.id in managed and not _in_folder(path, folder)
    ]


def _absent_sqlite_file(url: str) -> str | None:
    """The SQLite file `url` names when it doesn't exist, seen without loading SQLAlchemy: with
    no database, `rules check` stays as quick as a check of files alone."""
    scheme, _, rest = url.partition(":///")
    if not scheme.startswith("sqlite") or not rest:
        return None
    path = rest.split("?", 1)[0]
    return None if Path(path).exists() else path


async def _read(url: str, services: list[str]) -> tuple[tuple[str, ...], list[Published]]:
    """The services without a caseworker, and every managed service's version in force."""
    from inbound.review.coverage_check import services_without_caseworker
    from inbound.store.database import session_factory
    from inbound.store.rule_versions import StoredVersions

    async with database(url) as engine:
        sessions = session_factory(engine)
        missing = await services_without_caseworker(sessions, services)
        return missing, await StoredVersions(sessions).in_force()


# -- test -----------------------------------------------------------------------------------


def decision_json(decision: Decision) -> dict[str, Any]:
    """The `--json` form: `action` is `manual` whenever a person would decide; `language` is
    the person's (None when the text has no letters to tell), `reply` the auto-reply, if any."""
    return {
        "action": str(decision.action) if decision.automatic else "manual",
        "rule": decision.rule,
        "captures": dict(decision.captures),
        "reason": decision.reason,
        "language": decision.language,
        "reply": decision.reply,
        "reply_language": decision.reply_language,
    }


def _load_one(path: Path) -> ServiceRules:
    from inbound.rules.load import load_file

    if path.is_dir():
        raise CommandError(f"{path} is a folder: give one rule file")
    if not path.exists():
        raise CommandError(f"{path}: no such rule file")
    return load_file(path)  # a RuleFileError prints as "rule files are invalid", exit 2


def parse_expects(value: str) -> frozenset[Action]:
    """The actions of `--expects confirm,cancel`, or a CommandError naming the bad value and
    the actions a reminder may expect."""
    from inbound.prompts.intake import ANSWERS
    from inbound.prompts.model import STANDING_ACTIONS
    from inbound.rules.model import Action

    allowed = ", ".join(action.value for action in Action if action in ANSWERS)
    names = [name.strip().lower() for name in value.split(",")]
    if not any(names):
        raise CommandError(f"--expects is empty: give one or more of {allowed}")
    actions = set()
    for name in names:
        if not name:
            raise CommandError(
                f"--expects {value!r} has an empty name: give one or more of {allowed}"
            )
        if name not in {action.value for action in ANSWERS}:
            if name == Action.manual:
                why = "is not an answer: a person decides those"
            elif name in {action.value for action in STANDING_ACTIONS}:
                why = "always takes effect whatever a reminder asks, so none can expect it"
            else:
                why = "is not an action (expects names actions, not keywords)"
            raise CommandError(f"--expects: {name!r} {why}; give one or more of {allowed}")
        actions.add(Action(name))
    return frozenset(actions)


def _test(args: argparse.Namespace) -> int:
    from inbound import phone
    from inbound.prompts.trial import TRIAL_SENDER

    rules = _load_one(args.file)
    expects = parse_expects(args.expects) if args.expects is not None else None
    sender = None
    if args.sender is not None:
        try:
            sender = phone.normalise(args.sender, rules.service.region)
        except phone.InvalidNumber:
            raise CommandError(f"--from {args.sender!r} is not a phone number") from None
    trial = Trial(rules, sender or TRIAL_SENDER, expects)
    if args.stdin:
        for line in _lines(sys.stdin):
            print(json.dumps(trial.json(line), ensure_ascii=False), flush=True)
        return 0
    if args.json:
        print(json.dumps(trial.json(args.text), ensure_ascii=False))
        return 0
    decided = trial.with_prompt(args.text)
    if decided is None:
        _print_decision(trial.rules_decision(args.text), rules, sender)
    else:
        _print_decision(decided.decision or trial.rules_decision(args.text), rules, sender, decided)
    return 0


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield line.removesuffix("\n").removesuffix("\r")


class Trial:
    """Deciding replies with one rule file, alone or against a trial reminder (`--expects`)."""

    def __init__(self, rules: ServiceRules, sender: str, expects: frozenset[Action] | None):
        from inbound.rules.compiled import CompiledRules
        from inbound.rules.model import RuleBook

        self._rules = rules
        self._compiled = CompiledRules(RuleBook([rules]))
        self._sender = sender
        self._expects = expects

    def rules_decision(self, text: str) -> Decision:
        """What the rules alone decide."""
        return self._compiled.decide(self._rules, text)

    def with_prompt(self, text: str) -> Route | None:
        """The reply decided as an answer to a reminder sent just before it expecting
        `expects`, as the rules worker decides it; None without `expects`."""
        from inbound.prompts.trial import as_reply

        if self._expects is None:
            return None
        now = datetime.now(UTC)
        return as_reply(self._compiled, self._rules, text, self._expects, now, self._sender)

    def json(self, text: str) -> dict[str, Any]:
        """The `--json` form; with `--expects`, `action` is the decision with the reminder and
        `prompt` says what the reminder changed."""
        decided = self.with_prompt(text)
        if decided is None:
            return decision_json(self.rules_decision(text))
        found = decision_json(decided.decision or self.rules_decision(text))
        found["action"] = final_action(decided)
        found["prompt"] = {
            "reference": decided.prompt.reference if decided.prompt else None,
            "expects": sorted(self._expects or ()),
            "answered": decided.transition is not None,
            "effect": prompt_effect(decided),
        }
        return found


def final_action(decided: Route) -> str | None:
    """A routed reply's action as `--json` prints it: `manual` when a person decides, None when
    it repeats an answer already given (nothing is done again)."""
    from inbound.rules.replay import REPEAT, REVIEW, outcome

    now = outcome(decided)
    return {REVIEW: "manual", REPEAT: None}.get(now, now)


def prompt_effect(decided: Route) -> str:
    """What a reminder changed about a reply's decision, in one line."""
    from inbound.outcome import Status

    decision, matched = decided.decision, decided.matched
    if matched is None or decision is None:
        return "no reminder"
    if decided.transition is not None:
        return f"answers the reminder: {matched.action}"
    if decided.status is Status.REPEAT:
        return f"repeat: {matched.reason}"
    if decided.status is Status.PROCESSED:
        return f"not an answer: {decision.action} takes effect whatever a reminder asked"
    if decision.automatic and decided.review_reason == matched.reason:
        return f"review: {matched.reason}"
    return "not an answer: the rules leave this reply to a person"


def language_line(decision: Decision, default: str) -> str:
    """The person's language as `rules test` shows it, and the reply's when that differs."""
    from inbound.rules.model import CARRIER_RULE

    if decision.rule is None or decision.rule == CARRIER_RULE:
        line = f"{decision.language} (no keyword to tell: the service's language)"
    else:
        line = f"{decision.language} (the keyword matched)"
    if decision.reply_language is not None and decision.reply_language != decision.language:
        line += f"; reply in {decision.reply_language}, as the rule has none in {decision.language}"
    return line


def _print_decision(
    decision: Decision, rules: ServiceRules, sender: str | None, decided: Route | None = None
) -> None:
    from inbound import phone

    final = final_action(decided) if decided is not None else None
    if decided is not None and final is None:
        action = "nothing new (the same answer again)"
    elif decided is not None and final != "manual":
        action = f"{final} (automatic)"
    elif decision.automatic and decided is None:
        action = f"{decision.action} (automatic)"
    elif decision.action is not None:
        action = f"{decision.action} (a person decides)"
    else:
        action = "review (a person decides)"
    rows = [("service", rules.service.id)]
    if sender is not None:
        rows.append(("from", phone.mask(sender)))
    if decided is not None and decided.prompt is not None:
        expects = ", ".join(sorted(decided.prompt.expects))
        rows.append(("expects", f"{expects} (a trial reminder sent a minute before)"))
    rows += [("action", action), ("rule", decision.rule or "-"), ("reason", decision.reason)]
    if decided is not None:
        rows.append(("prompt", prompt_effect(decided)))
    rows += [(f"  {name}", value) for name, value in decision.captures.items()]
    if decision.flags:
        rows.append(("flags", ", ".join(sorted(decision.flags))))
    if decision.language is not None and len(rules.languages()) > 1:
        rows.append(("language", language_line(decision, rules.service.language)))
    # The rule's reply goes out only with its automatic outcome.
    if decision.reply and (decided is None or final == str(decision.action)):
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
    if args.json:
        print(json.dumps(replay_json(summary, rules, args.since), ensure_ascii=False))
    else:
        _print_replay(summary, rules, args.since)
    return 0


async def _replay_stored(
    url: str, rules: ServiceRules, since: datetime
) -> ReplaySummary[PastMessage]:
    from inbound.rules.replay import replay
    from inbound.store.database import session_factory
    from inbound.store.history import messages_for_service
    from inbound.store.prompt_history import prompts_by_sender

    # Read-only: the session is never committed, and nothing here writes.
    async with database(url) as engine, session_factory(engine)() as session:
        found = messages_for_service(session, rules.service.id, rules.service.numbers, since)
        history = [past async for past in found]
        senders = {past.sender for past in history if past.text is not None}
        prompts = await prompts_by_sender(session, rules.service.id, senders)
    return replay(rules, history, prompts)


def _print_replay(summary: ReplaySummary[PastMessage], rules: ServiceRules, days: float) -> None:
    from inbound import phone

    total = summary.replayed
    print(
        f"replayed {total} messages for service {rules.service.id} from the last {days:g} days"
        + (f" ({summary.purged} with text purged, skipped)" if summary.purged else "")
    )
    print(f"  automatic before: {summary.automatic_before}, with these rules: ", end="")
    print(summary.automatic_after)
    print(
        f"  decided by caseworkers before: {summary.caseworker_decided}, dismissed by them: "
        f"{summary.caseworker_dismissed}; these rules would act on "
        f"{summary.as_caseworkers + summary.unlike_caseworkers} of them, "
        f"{summary.as_caseworkers} as the caseworker did"
    )
    print(f"  review items these rules would handle: {summary.newly_automatic}")
    print(f"  automatic outcomes these rules would send to review: {summary.newly_review}")
    print(f"  automatic outcomes these rules would change: {summary.different_action}")
    print(f"  unchanged: {total - len(summary.changes)}")
    print(
        f"  replies with prompts: {summary.with_prompts}, decided otherwise than without them: "
        f"{summary.changed_by_prompts}"
    )
    print(
        f"  repeated answers (no second outcome) before: {summary.repeats_before}, with these "
        f"rules: {summary.repeats_after}"
    )
    if not summary.changes:
        return
    print("\nchanges:")
    for change in summary.changes:
        past, after = change.message, change.after
        when = past.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        text = json.dumps(past.text, ensure_ascii=False)
        print(f"  {when}  {phone.mask(past.sender)}  {change.before} -> {change.now}  {text}")
        print(f"      now: {_reason(after)}")
        if after.prompt is not None:
            expects = ", ".join(sorted(after.prompt.expects))
            print(f"      prompt: {after.prompt.reference}, expects {expects}")
        if change.before == "review" and past.review_reason:
            print(f"      was: {past.review_reason}")
        if past.decided is not None:
            print(f"      caseworker decided: {past.decided}")


def replay_json(summary: ReplaySummary[PastMessage], rules: ServiceRules, days: float) -> Any:
    """The `--json` form: the summary's counts, caseworkers' decisions apart from automatic
    outcomes, and each change (numbers masked)."""
    from inbound import phone

    return {
        "service": rules.service.id,
        "days": days,
        "replayed": summary.replayed,
        "purged": summary.purged,
        "automatic": {"before": summary.automatic_before, "after": summary.automatic_after},
        "caseworkers": {
            "decided": summary.caseworker_decided,
            "dismissed": summary.caseworker_dismissed,
            "rules_act_as_caseworker": summary.as_caseworkers,
            "rules_act_otherwise": summary.unlike_caseworkers,
        },
        "newly_automatic": summary.newly_automatic,
        "newly_review": summary.newly_review,
        "different_action": summary.different_action,
        "unchanged": summary.replayed - len(summary.changes),
        "with_prompts": summary.with_prompts,
        "changed_by_prompts": summary.changed_by_prompts,
        "repeats": {"before": summary.repeats_before, "after": summary.repeats_after},
        "changes": [
            {
                "received_at": change.message.received_at.astimezone(UTC).isoformat(),
                "from": phone.mask(change.message.sender),
                "text": change.message.text,
                "before": change.before,
                "caseworker": change.message.decided,
                "after": change.now,
                "reason": _reason(change.after),
            }
            for change in summary.changes
        ],
    }


def _reason(decided: Route) -> str:
    """Why a reply is decided as it is: the review's reason, the repeat's, or the rule's (with
    the prompt it answers)."""
    from inbound.outcome import Status

    matched, decision = decided.matched, decided.decision
    if decided.status is Status.REVIEW:
        return decided.review_reason or "-"
    if decided.status is Status.REPEAT and matched is not None:
        return matched.reason
    reason = decision.reason if decision else "-"
    if matched is not None and matched.reason != reason:
        reason += f"; {matched.reason}"
    return reason


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
        "Warnings (carrier opt-out words, keywords shared between rules, unreachable rules, "
        "keywords in a language the rule's reply isn't written in, a service with no "
        "caseworker in the database) don't fail the check; each names a reply that shows it, "
        "which `rules test` decides the same way. Without a database it says it couldn't check "
        "for caseworkers.\n\n"
        "A single file is checked beside the other services in INBOUND_RULES_DIR (the folder "
        "inbound loads; the file's own folder when that isn't a folder), as loading them "
        "together would be: a phone number, service id or Notify template another service "
        "there already has is an error. A file there for the same service is the version this "
        "one replaces, and is left out.\n\n"
        "With the database, files are also checked beside the rules managed in inbound, as "
        "the processes load them: a file in INBOUND_RULES_DIR for a service managed in "
        "inbound is an error (the processes refuse the pair), as is a number or Notify "
        "template a managed service has; a file elsewhere for a managed service gets a note "
        "(publish it as a draft, or move the service back with `inbound rules export SERVICE "
        "--to-files`)."
    )
    check_command = add_command(
        subcommands, "check", text, details=details, reads="Reads INBOUND_DATABASE_URL."
    )
    check_command.add_argument(
        "path", nargs="?", type=Path, help="a rule file or folder (default: INBOUND_RULES_DIR)"
    )
    check_command.set_defaults(handler=_check)

    text = "Show what a rule file decides for a reply, and why."
    details = (
        "With --json (or --stdin) each decision is one JSON object with action (manual when a "
        "person would decide), rule, captures, reason, and the person's language and the "
        "auto-reply (with the language it is in).\n\n"
        "With --expects the reply is decided as the rules worker decides a reply to a reminder "
        "(a prompt) sent a minute before it, expecting those actions: an action it doesn't "
        "expect goes to a person. The output says what the reminder changed; in JSON, action "
        "is the decision with the reminder, reason the rules' own, and prompt is {reference, "
        "expects, answered, effect}."
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
    test.add_argument(
        "--expects",
        metavar="ACTIONS",
        help="decide the reply as an answer to a reminder sent just before it that expects "
        "these actions, comma-separated, e.g. --expects confirm,cancel (any of confirm, cancel, "
        "change, report, register, follow_up, feedback, reply)",
    )
    test.add_argument("--json", action="store_true", help="print the decision as one JSON object")
    test.set_defaults(handler=_test)

    text = "Run a rule file over stored messages and print what would change."
    details = (
        "Compared with what happened: review items it would handle, automatic outcomes it "
        "would change. A caseworker's decision on a review item is counted apart from the "
        "automatic outcomes (with how many of those items the rules would decide as the "
        "caseworker did). Numbers are shown masked.\n\n"
        "Each reply is decided with the prompts the service had sent its sender, as stored and "
        "as they stood when the reply arrived (an answer it or a later reply gave is undone); "
        "the summary says how many replies had prompts. Nothing is written to the database."
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
    replay_command.add_argument(
        "--json",
        action="store_true",
        help="print the counts and the changes as one JSON object",
    )
    replay_command.set_defaults(handler=_replay)

    text = "Print the JSON Schema of a rule file, for editor completion and checks."
    schema = add_command(subcommands, "schema", text)
    schema.set_defaults(handler=_schema)

    register_suggest(subcommands)  # suggest: keywords learnt from the review queue
    rules_managed.register(subcommands)  # export, import: rules managed in inbound
