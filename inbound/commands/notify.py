"""`inbound notify …`: GOV.UK Notify, from inbound's side (issue 17).

- `backfill SERVICE [--since 7d]`   fetch the service's received texts Notify still keeps and
                                    publish those inbound doesn't have, with progress and a
                                    summary

The worker does the same every INBOUND_NOTIFY_POLL_EVERY seconds, stopping at texts inbound
already has; a backfill walks on to `--since`, for after an outage or when a service starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from inbound.commands.context import CommandError, Subcommands, add_command, load_settings

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from inbound.backfill.page import ReceivedText
    from inbound.backfill.poll import Walked
    from inbound.config import Settings
    from inbound.rules.compiled import CompiledRules
    from inbound.rules.model import ServiceRules

BAR = 30  # characters of the progress bar


def _since(text: str) -> timedelta:
    from inbound.backfill.walk import SinceInvalid, parse_since

    try:
        return parse_since(text)
    except SinceInvalid as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _service(rules: CompiledRules, service_id: str) -> tuple[ServiceRules, str]:
    """The service and its API key, or a CommandError saying what to set."""
    import os

    known = rules.book.services
    found = known.get(service_id)
    if found is None:
        names = ", ".join(sorted(known)) or "none"
        raise CommandError(f"no service {service_id!r} in the rule files (services: {names})")
    notify = found.service.notify
    if notify is None or not notify.api_key_env:
        raise CommandError(
            f"service {service_id!r} has no Notify API key: name the environment variable "
            "holding it in its rule file, `service: {notify: {api_key_env: "
            "APPOINTMENTS_NOTIFY_API_KEY}}` (docs/notify.md)"
        )
    key = os.environ.get(notify.api_key_env, "")
    if not key.strip():
        raise CommandError(
            f"{notify.api_key_env} is not set: it holds {service_id}'s Notify API key (its "
            "rule file's service.notify.api_key_env); create one in Notify under API "
            "integration, API keys"
        )
    from inbound.actions.sender import NotifyKeyInvalid, notify_token

    try:
        notify_token(key.strip())
    except NotifyKeyInvalid as error:
        raise CommandError(
            f"{notify.api_key_env} is not a Notify API key ({error}): copy the whole key from "
            "Notify's API integration page"
        ) from None
    return found, key.strip()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class _Progress:
    """A bar of how far back the walk has got, from now to `--since`, on stderr."""

    def __init__(self, now: datetime, since: datetime) -> None:
        self._now = now
        self._since = since
        self._interactive = sys.stderr.isatty()
        self._pages_told = 0

    def show(self, walked: Walked, oldest: datetime | None, done: bool = False) -> None:
        span = (self._now - self._since).total_seconds()
        back = 0.0 if oldest is None else (self._now - oldest).total_seconds()
        share = 1.0 if done else min(max(back / span, 0.0), 1.0)
        filled = round(share * BAR)
        bar = "#" * filled + "-" * (BAR - filled)
        where = f"back to {_stamp(oldest)}" if oldest is not None else "nothing yet"
        line = (
            f"[{bar}] {share * 100:3.0f}%  {walked.read:,} texts read ({where}), "
            f"{walked.published:,} published"
        )
        if self._interactive:
            print("\r" + line, end="\n" if done else "", file=sys.stderr, flush=True)
        elif done or walked.pages - self._pages_told >= 10:  # a log file: every 10 pages
            self._pages_told = walked.pages
            print(line, file=sys.stderr, flush=True)


async def _backfill(
    settings: Settings, rules: CompiledRules, service: ServiceRules, key: str, span: timedelta
) -> tuple[Walked, datetime]:
    import contextlib
    from datetime import UTC, datetime

    import aiohttp

    from inbound.backfill.client import ReceivedTexts
    from inbound.backfill.poll import PROVIDER, messages_for, walk
    from inbound.backfill.walk import Walk
    from inbound.broker.connection import connect
    from inbound.broker.publisher import Publisher
    from inbound.broker.topology import BrokerNames
    from inbound.commands.context import database
    from inbound.rules.compiled import fixed
    from inbound.spool.publish_or_spool import PublishOrSpool, spool_write_bound
    from inbound.store.database import session_factory
    from inbound.store.migrate import require_current
    from inbound.store.notify_polls import NotifyPolls

    now = datetime.now(UTC)
    since = now - span
    progress = _Progress(now, since)
    oldest: list[datetime] = []

    async with (
        database(settings.database_url) as engine,
        aiohttp.ClientSession() as http,
    ):
        await require_current(engine)
        sessions = session_factory(engine)
        connection = await connect(settings.amqp_url, within=settings.connect_timeout)
        try:
            publisher = await Publisher.open(
                connection,
                BrokerNames(settings.amqp_namespace),
                settings.delivery_limit,
                settings.spool_after,
            )
            durable = PublishOrSpool(publisher, sessions, spool_write_bound(settings.spool_after))
            client = ReceivedTexts(http, settings.notify_base_url, key, settings.callback_timeout)

            async def read_page(older_than: str | None) -> list[ReceivedText]:
                texts = await client.page(older_than)
                in_walk = [t.kept.created_at for t in texts if t.kept.created_at >= since]
                if in_walk:
                    oldest[:] = [min(in_walk)]
                return texts

            async def known(ids: list[str]) -> set[str]:
                async with sessions.begin() as session:
                    return await NotifyPolls(session).known(PROVIDER, ids)

            async def on_page(walked: Walked) -> None:
                progress.show(walked, oldest[0] if oldest else None)

            walked = await walk(
                read_page,
                known,
                durable,
                Walk(since, until_known=False),
                messages_for(service, fixed(rules), settings.default_region),
                on_page=on_page,
            )
            progress.show(walked, oldest[0] if oldest else None, done=walked.failure is None)
            if walked.failure is not None and sys.stderr.isatty():
                print(file=sys.stderr)
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
    return walked, since


def _command(args: argparse.Namespace) -> int:
    import time

    from inbound import logs
    from inbound.commands.context import complete
    from inbound.commands.rules_managed import rule_book
    from inbound.rules.compiled import CompiledRules

    settings = load_settings()
    # Only warnings reach the terminal (a text Notify holds that can't make a message).
    logs.configure("WARNING", "console")
    rules = CompiledRules(rule_book(settings))
    service, key = _service(rules, args.service)
    started = time.monotonic()
    walked, since = complete(_backfill(settings, rules, service, key, args.since))
    seconds = time.monotonic() - started
    counts = (
        f"{walked.read:,} texts read, {walked.published:,} published, "
        f"{walked.already:,} inbound already had"
        + (f", {walked.unusable:,} unusable (logged by Notify id)" if walked.unusable else "")
    )
    if walked.failure is not None:
        raise CommandError(
            f"backfill of {args.service} stopped after {walked.pages:,} pages: "
            f"{walked.failure}. So far: {counts}. Run it again to go on: what was published "
            "is not published twice."
        )
    print(
        f"backfilled {args.service} from Notify in {seconds:.1f} s, back to {_stamp(since)}: "
        + counts
    )
    return 0


def register(commands: Subcommands) -> None:
    """Add `notify` and its subcommands to the top-level parser."""
    notify = add_command(
        commands,
        "notify",
        "GOV.UK Notify: received texts Notify kept that no callback brought.",
        details=(
            "The worker polls Notify for them every INBOUND_NOTIFY_POLL_EVERY seconds; "
            "`backfill` does it now, further back."
        ),
    )
    sub = notify.add_subparsers(dest="notify_command", required=True, metavar="COMMAND")
    text = "Publish a service's received texts Notify has and inbound doesn't."
    details = (
        "Walks the service's texts in Notify (GET /v2/received-text-messages, newest first, "
        "with the API key its rule file names in service.notify.api_key_env) back to --since, "
        "and publishes each text inbound has neither stored nor spooled, as if Notify's "
        "callback had brought it: the rules then act on it as usual (callbacks, auto-replies, "
        "review). Safe to run at any time and again: a text is never processed twice."
    )
    reads = (
        "Reads INBOUND_DATABASE_URL, INBOUND_AMQP_URL, INBOUND_RULES_DIR, "
        "INBOUND_NOTIFY_BASE_URL and the variable named by the service's api_key_env."
    )
    backfill = add_command(sub, "backfill", text, details=details, reads=reads)
    backfill.add_argument("service", metavar="SERVICE", help="the service's id")
    backfill.add_argument(
        "--since",
        type=_since,
        default="7d",
        metavar="AGE",
        help="how far back: minutes, hours or days, e.g. 30m, 12h, 2d (default and most: 7d, "
        "as long as Notify keeps texts)",
    )
    backfill.set_defaults(handler=_command)
