"""`inbound prompts …`: what a service asked, and is waiting to hear back about (issue 15).

- `list SERVICE [--open] [--limit N]`   a service's prompts, numbers masked
- `import SERVICE FILE.csv`             store prompts from a CSV file (columns to, reference,
                                        expects, expires_at, and optionally text, sent_at),
                                        all or nothing, with progress and a summary

Prompts usually arrive through the API (POST /api/prompts, with a service token); the import is
for a day's reminders exported from another system.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from inbound.commands.context import CommandError, Subcommands, add_command, load_settings
from inbound.commands.users import in_transaction, stamp, table

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from inbound.prompts.intake import Sender
    from inbound.prompts.model import Prompt
    from inbound.store.prompts import StoredPrompt

REQUIRED = ("to", "reference", "expects")
OPTIONAL = ("expires_at", "text", "sent_at")
SHOWN_ERRORS = 10  # wrong rows named before "… and N more"
CHUNK = 5_000  # prompts written between progress lines
DEFAULT_LIMIT = 1_000


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError("a whole number from 1 to 1,000,000")
    return int(text)


def _sender(service: str) -> Sender:
    """The service as the rule files describe it (its region reads national numbers)."""
    from datetime import UTC, datetime

    from inbound.commands.rules_managed import rule_book
    from inbound.prompts.intake import Sender

    known = rule_book(load_settings()).services
    if service not in known:
        raise CommandError(f"no service {service!r} in the rule files ({', '.join(sorted(known))})")
    found = known[service]
    return Sender(service, found.service.region, found.prompts, datetime.now(UTC))


def _state(stored: StoredPrompt, now: datetime) -> str:
    prompt = stored.prompt
    if prompt.answer is not None:
        return f"answered {prompt.answer.action.value}"
    if prompt.state.value == "open" and prompt.expired_at(now):
        return "open, expired"
    return prompt.state.value


def _list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from inbound import phone
    from inbound.store.prompts import Prompts

    _sender(args.service)

    async def work(session: AsyncSession) -> list[StoredPrompt]:
        # One more than shown, to know whether there are more.
        return await Prompts(session).listing(
            args.service, open_only=args.open, limit=args.limit + 1
        )

    found = in_transaction(work)
    which = "open prompts" if args.open else "prompts"
    if not found:
        print(f"no {which} for {args.service}", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    rows = [
        [
            str(s.id),
            s.prompt.reference,
            phone.mask(s.prompt.recipient),
            ",".join(sorted(s.prompt.expects)),
            stamp(s.prompt.sent_at),
            stamp(s.prompt.expires_at),
            _state(s, now),
        ]
        for s in found[: args.limit]
    ]
    headers = ["ID", "REFERENCE", "TO", "EXPECTS", "SENT", "EXPIRES", "STATE"]
    print(table(headers, rows))
    if len(found) > args.limit:
        print(
            f"the first {args.limit:,} {which} by time sent; --limit N shows more",
            file=sys.stderr,
        )
    return 0


def read_csv(path: Path, sender: Sender) -> list[Prompt]:
    """Every prompt in the file, or a CommandError naming the wrong rows (line and field)."""
    import csv

    from inbound.prompts.intake import read_prompt
    from inbound.prompts.model import InvalidPrompt

    try:
        # utf-8-sig: a spreadsheet's export often starts with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip().lower() for name in next(reader, [])]
            missing = [name for name in REQUIRED if name not in header]
            unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
            if missing or unknown or len(set(header)) != len(header):
                problems = [f"no column {name}" for name in missing]
                problems += [f"unknown column {name!r}" for name in unknown]
                raise CommandError(
                    f"{path}: line 1: {'; '.join(problems) or 'a column is named twice'}: the "
                    f"first line names the columns: {', '.join(REQUIRED)}, and optionally "
                    f"{', '.join(OPTIONAL)}"
                )
            prompts: list[Prompt] = []
            wrong: list[str] = []
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(header):
                    wrong.append(f"line {line}: {len(row)} cells for {len(header)} columns")
                    continue
                cells = dict(zip(header, row, strict=False))
                try:
                    prompts.append(read_prompt(cells, sender))
                except InvalidPrompt as error:
                    wrong.append(f"line {line}: {error}")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as error:
        raise CommandError(
            f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None
    except csv.Error as error:
        raise CommandError(f"{path}: not CSV: {error}") from None
    if wrong:
        more = f"\n… and {len(wrong) - SHOWN_ERRORS:,} more" if len(wrong) > SHOWN_ERRORS else ""
        raise CommandError(
            f"{path}: {len(wrong):,} wrong {'row' if len(wrong) == 1 else 'rows'}, so nothing "
            "was imported:\n" + "\n".join(wrong[:SHOWN_ERRORS]) + more
        )
    if not prompts:
        raise CommandError(f"{path}: no prompts after the header line")
    return prompts


def _import(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from sqlalchemy import func, select

    from inbound.store import prompt_writes
    from inbound.store.models import PromptRow

    sender = _sender(args.service)
    path = Path(args.file)
    prompts = read_csv(path, sender)
    total = len(prompts)
    started = time.monotonic()
    interactive = sys.stderr.isatty()

    def progress(done: int) -> None:
        line = f"importing: {done:,} of {total:,} prompts ({done * 100 // total}%)"
        if interactive:
            print("\r" + line, end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done == total or done % (CHUNK * 4) == 0:
            print(line, file=sys.stderr, flush=True)

    async def count(session: AsyncSession) -> int:
        query = select(func.count()).where(PromptRow.service_id == args.service)
        return int(await session.scalar(query) or 0)

    async def work(session: AsyncSession) -> tuple[int, int]:
        before = await count(session)
        for start in range(0, total, CHUNK):
            await prompt_writes.store(session, prompts[start : start + CHUNK])
            progress(min(start + CHUNK, total))
        return before, await count(session)

    before, after = in_transaction(work)
    unique = len({prompt.key for prompt in prompts})
    added = after - before
    seconds = time.monotonic() - started
    print(
        f"imported {total:,} prompts for {args.service} from {path.name} in {seconds:.1f} s: "
        f"{added:,} new, {unique - added:,} updated"
        + (f" ({total - unique:,} rows repeated an earlier one)" if total > unique else "")
    )
    return 0


def register(commands: Subcommands) -> None:
    """Add `prompts` and its subcommands to the top-level parser."""
    prompts = add_command(
        commands,
        "prompts",
        "Prompts: the messages a service sent that expect an answer.",
        details=(
            "Services usually send them to POST /api/prompts with a service token (`inbound "
            "tokens add --service ID`); `import` reads a CSV file instead."
        ),
    )
    sub = prompts.add_subparsers(dest="prompts_command", required=True, metavar="COMMAND")
    reads = "Reads INBOUND_DATABASE_URL and INBOUND_RULES_DIR."

    text = "List a service's prompts, oldest sent first; numbers are masked."
    listing = add_command(sub, "list", text, reads=reads)
    listing.add_argument("service", metavar="SERVICE", help="the service's id")
    listing.add_argument("--open", action="store_true", help="only prompts not yet answered")
    listing.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"show at most N (default: {DEFAULT_LIMIT:,})",
    )
    listing.set_defaults(handler=_list)

    text = "Store prompts from a CSV file, all or nothing."
    details = (
        f"The first line names the columns: {', '.join(REQUIRED)}, and optionally "
        f"{', '.join(OPTIONAL)}. expects is one or more actions (e.g. confirm,cancel); times "
        "are ISO 8601 with a zone (2026-12-03T09:00:00Z); expires_at defaults to sent_at plus "
        "the rule file's prompts.expires_after (14d unless set), sent_at to now. A prompt "
        "already stored (same reference and number) is updated. Any wrong row stops the "
        "import, naming its line."
    )
    importing = add_command(sub, "import", text, details=details, reads=reads)
    importing.add_argument("service", metavar="SERVICE", help="the service's id")
    importing.add_argument("file", metavar="FILE.csv", help="the CSV file")
    importing.set_defaults(handler=_import)
