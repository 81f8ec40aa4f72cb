"""What the Notify backfill tests share: a rules folder with a service that has a Notify API
key, and a poller driven by hand against the running stack's RabbitMQ and database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from inbound.backfill.poll import NotifyPoller, PollSettings
from inbound.broker.publisher import Publisher
from inbound.broker.topology import BrokerNames
from inbound.config import Settings
from inbound.spool.publish_or_spool import PublishOrSpool, spool_write_bound
from inbound.store.models import Message
from tests.integration.conftest import Stack

SERVICE = "notified"
KEY_ENV = "NOTIFIED_NOTIFY_API_KEY"
NOTIFY_NUMBER = "07700900000"  # the fake's default, as Notify writes the service's number
CALLBACK_TOKEN = "notify-callback-token-for-tests"
RULES = f"""
service:
  id: {SERVICE}
  name: A service that sends its reminders with GOV.UK Notify
  region: GB
  numbers: ["+447700900000"]
  notify:
    api_key_env: {KEY_ENV}
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
"""
PLAIN = """
service:
  id: plain
  name: A service with no Notify key
  region: GB
  numbers: ["+447700900222"]
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
"""


def notify_rules(tmp_path: Path) -> Path:
    """A rules folder: `notified` (with a Notify API key) and `plain` (without)."""
    folder = tmp_path / "notify-rules"
    folder.mkdir()
    (folder / f"{SERVICE}.yaml").write_text(RULES)
    (folder / "plain.yaml").write_text(PLAIN)
    return folder


@dataclass
class Clock:
    """The poller's clock, moved by hand (the lease and `since` read it; JWTs use real time)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def real_now() -> datetime:
    return datetime.now(UTC)


async def durable_on(stack: Stack, settings: Settings) -> PublishOrSpool:
    """Publishing as the receiver does, onto the stack's RabbitMQ (else its spool)."""
    publisher = await Publisher.open(
        stack.running.connection,
        BrokerNames(settings.amqp_namespace),
        settings.delivery_limit,
        settings.spool_after,
    )
    return PublishOrSpool(publisher, stack.sessions, spool_write_bound(settings.spool_after))


async def poller_on(
    stack: Stack,
    settings: Settings,
    key: str,
    base_url: str,
    clock: Callable[[], datetime] = real_now,
    every: timedelta = timedelta(minutes=5),
) -> NotifyPoller:
    """A NotifyPoller publishing to the stack's RabbitMQ, as the worker's own does."""
    return NotifyPoller(
        stack.sessions,
        stack.running.rules,
        await durable_on(stack, settings),
        stack.http,
        PollSettings(base_url, every, 5.0, settings.default_region),
        key_for={KEY_ENV: key}.get,
        clock=clock,
    )


async def notify_messages(stack: Stack) -> dict[str, int]:
    """How many times each Notify id is stored."""
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Message.provider_message_id, func.count())
            .where(Message.provider == "notify")
            .group_by(Message.provider_message_id)
        )
        return {str(notify_id): int(count) for notify_id, count in rows.all()}


def received_pages(requests: list[tuple[str, str]]) -> list[str]:
    """The received-texts requests the fake answered, in order."""
    return [path for method, path in requests if path.startswith("/v2/received-text-messages")]
