"""The `inbound` command: run the service, migrate, trace a message, check rules."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from inbound import bootstrap, config, logs, phone, runtime
from inbound.broker.connection import BrokerUnreachable
from inbound.commands import callbacks as callbacks_commands
from inbound.commands import purge as purge_commands
from inbound.commands import rules as rules_commands
from inbound.commands import spool as spool_commands
from inbound.commands import users as users_commands
from inbound.commands.context import CommandError, load_settings
from inbound.providers import generic
from inbound.rules.load import RuleFileError, RuleSetError
from inbound.store.database import create_engine, session_factory
from inbound.store.messages import Messages, MessageTrace
from inbound.store.migrate import SchemaOutOfDate, revisions, upgrade

RABBITMQ_HINT = (
    "start one with `rabbitmq-server -detached` (Debian/Ubuntu: apt-get install rabbitmq-server) "
    "or `docker run -d -p 5672:5672 rabbitmq:3`, or set INBOUND_AMQP_URL"
)


def _run_parts(parts: bootstrap.Components) -> Callable[[argparse.Namespace], int]:
    def command(_: argparse.Namespace) -> int:
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)
        try:
            runtime.run(bootstrap.run(settings, parts))
        except BrokerUnreachable as error:
            raise CommandError(f"{error}; {RABBITMQ_HINT}") from None
        except bootstrap.StartupError as error:
            raise CommandError(str(error)) from None
        return 0

    return command


def _migrate(_: argparse.Namespace) -> int:
    settings = load_settings()

    async def go() -> tuple[str | None, str | None]:
        engine = create_engine(settings.database_url)
        try:
            before, _head = await revisions(engine)
            await upgrade(engine)
            return before, (await revisions(engine))[0]
        finally:
            await engine.dispose()

    before, after = asyncio.run(go())
    if before == after:
        print(f"database is up to date (revision {after})")
    else:
        print(f"database migrated from {before or 'empty'} to revision {after}")
    return 0


def _trace_json(found: MessageTrace, show_numbers: bool) -> dict[str, Any]:
    message, outcome, review = found.message, found.outcome, found.review
    shown: Callable[[str], str] = (lambda number: number) if show_numbers else phone.mask
    return {
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "from": shown(message.sender),
        "to": shown(message.recipient),
        "text": message.text,
        "received_at": message.received_at.isoformat(),
        "service": message.service_id,
        "status": message.status,
        "action": outcome.action if outcome else None,
        "rule": outcome.rule if outcome else (review.rule if review else None),
        "captures": outcome.captures if outcome else {},
        "review": {"reason": review.reason, "state": review.state} if review else None,
    }


def _trace(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def go() -> list[MessageTrace]:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return await Messages(session).trace(args.id, args.provider)
        finally:
            await engine.dispose()

    found = asyncio.run(go())
    if not found:
        where = f" from {args.provider}" if args.provider else ""
        print(f"no message {args.id!r}{where} is stored (it may still be queued)", file=sys.stderr)
        return 1
    if len(found) > 1:
        providers = ", ".join(item.message.provider for item in found)
        raise CommandError(
            f"{len(found)} messages have id {args.id!r} ({providers}): add --provider"
        )
    record = _trace_json(found[0], args.show_numbers)
    if args.json:
        print(json.dumps(record, ensure_ascii=False))
        return 0
    lines = [
        ("message", f"{record['provider_message_id']} ({record['provider']})"),
        ("from", record["from"]),
        ("to", record["to"]),
        ("received", record["received_at"]),
        ("text", record["text"] if record["text"] is not None else "(purged)"),
        ("service", record["service"] or "(no service owns this number)"),
        ("status", record["status"]),
    ]
    if record["action"]:
        lines.append(("action", f"{record['action']} (rule {record['rule']})"))
        for key, value in record["captures"].items():
            lines.append((key, value))
    if record["review"]:
        lines.append(("review", f"{record['review']['state']}: {record['review']['reason']}"))
    for label, value in lines:
        print(f"{label:<9} {value}")
    return 0


def _send(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.generic_secret is None:
        raise CommandError("set INBOUND_GENERIC_SECRET (the same one the server uses)")
    secret = settings.generic_secret.get_secret_value().split(",")[0].strip()
    payload = {
        "id": args.id or f"cli-{uuid.uuid4().hex[:16]}",
        "from": args.sender,
        "to": args.to,
        "text": args.text,
        "received_at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(payload).encode()
    url = args.url or f"http://127.0.0.1:{settings.port}/webhooks/generic"

    async def go() -> tuple[int, str]:
        headers = {
            "Content-Type": "application/json",
            "X-Inbound-Signature": generic.sign(secret, body),
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status, await response.text()

    try:
        status, answer = asyncio.run(go())
    except aiohttp.ClientError as error:
        raise CommandError(f"could not reach {url}: {error}") from None
    print(f"{status} {answer}")
    print(f"trace it with: inbound trace {payload['id']}")
    return 0 if status < 300 else 1


def _config(args: argparse.Namespace) -> int:
    if args.reference:
        print(config.reference())
        return 0
    settings = load_settings()
    for name in config.Settings.model_fields:
        value = getattr(settings, name)
        print(f"INBOUND_{name.upper()}={'' if value is None else value}")
    return 0


def _settings_help() -> str:
    rows = [
        f"  {variable}\n{textwrap.indent(textwrap.fill(text, 70), ' ' * 6)}"
        + (f"\n      default: {default}" if default else "")
        for variable, default, text in config.describe()
    ]
    return "environment settings:\n" + "\n".join(rows)


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="inbound",
        description="Receive SMS replies, act on them with keyword rules, queue the rest.",
        epilog=_settings_help(),
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_settings_help(),
            formatter_class=formatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    add(
        "run",
        "Run everything in one process: webhooks and the rules worker.",
        _run_parts(bootstrap.Components(True, True)),
    )
    add(
        "serve",
        "Run the webhook receiver only (Procfile `web`).",
        _run_parts(bootstrap.Components(True, False)),
    )
    add(
        "worker",
        "Run the rules worker only (Procfile `worker`).",
        _run_parts(bootstrap.Components(False, True)),
    )
    add(
        "review",
        "Run the caseworkers' review pages and /api/ only (Procfile `review`).",
        _run_parts(bootstrap.Components(False, False, review=True)),
    )
    add("migrate", "Create or upgrade the database schema.", _migrate)
    settings_command = add("config", "Print the settings in force (secrets hidden).", _config)
    settings_command.add_argument(
        "--reference",
        action="store_true",
        help="print every setting as a Markdown table (docs/configuration.md is this output)",
    )

    trace = add(
        "trace", "Show where a message went: stored fields, outcome or review item.", _trace
    )
    trace.add_argument("id", help="the provider's message id (e.g. Twilio's MessageSid)")
    trace.add_argument("--provider", help="which provider, when two share an id")
    trace.add_argument("--json", action="store_true", help="print one JSON object")
    trace.add_argument("--show-numbers", action="store_true", help="print phone numbers unmasked")

    rules_commands.register(commands)
    callbacks_commands.register(commands)
    spool_commands.register(commands)
    purge_commands.register(commands)
    users_commands.register(commands)

    send = add(
        "send",
        "Post a signed message to a running server's generic webhook (for trying it out).",
        _send,
    )
    send.add_argument("text", help="the message text")
    send.add_argument("--from", dest="sender", default="+447700900123", help="sender number")
    send.add_argument("--to", default="+447700900000", help="one of a service's numbers")
    send.add_argument("--id", help="message id (default: a random one)")
    send.add_argument(
        "--url", help="webhook URL (default: http://127.0.0.1:$INBOUND_PORT/webhooks/generic)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `inbound` console script."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CommandError as error:
        print(f"inbound: {error}", file=sys.stderr)
        return 2
    except (RuleSetError, RuleFileError) as error:
        print(f"inbound: rule files are invalid:\n{error}", file=sys.stderr)
        return 2
    except SchemaOutOfDate as error:
        print(f"inbound: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
