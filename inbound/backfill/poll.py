"""The "backfill from Notify" use case: walk a service's received texts in Notify and publish
those inbound doesn't have, through the path webhooks take (RabbitMQ confirmed, else the spool).

`walk` is one walk (the poller's and `inbound notify backfill`'s); `NotifyPoller` runs a poll
of every service with a Notify API key, one process at a time per service (the lease in
`store/notify_polls.py`). What is missing and how far to go is decided by `walk.step`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from aio_pika.abc import AbstractRobustConnection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.backfill.client import NotifyReadFailed, ReceivedTexts
from inbound.backfill.page import ReceivedText
from inbound.backfill.walk import NOTIFY_KEEPS, OVERLAP, Ended, Walk, step
from inbound.broker.publisher import Publisher, PublishFailed
from inbound.broker.topology import BrokerNames
from inbound.config import Settings
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.providers.base import WebhookError
from inbound.providers.notify import received_text
from inbound.receiver.accept import Durable, RegionLookup, to_message
from inbound.rules.compiled import RulesInForce
from inbound.rules.model import ServiceRules
from inbound.spool.publish_or_spool import PublishOrSpool, spool_write_bound
from inbound.store.notify_polls import Lease, NotifyPolls

log = get_logger("notify_poll")

# The provider name the `/webhooks/notify` callback gives its messages: one message either way.
PROVIDER = "notify"
# How long a claimed poll is held without news; renewed at every page, so only a process that
# died holding it keeps the others waiting, this long.
LEASE = timedelta(minutes=2)

ReadPage = Callable[[str | None], Awaitable[list[ReceivedText]]]
Known = Callable[[list[str]], Awaitable[set[str]]]


@dataclass
class Walked:
    """How a walk went, in counts (never a number or a text)."""

    pages: int = 0
    read: int = 0  # texts Notify listed, within the walk
    published: int = 0
    unusable: int = 0  # texts whose fields can't make a message (logged by id)
    ended: Ended | None = None  # None: the walk stopped part-way (see `failure`)
    failure: str | None = None

    @property
    def already(self) -> int:
        """Texts inbound had already."""
        return self.read - self.published - self.unusable


MessageFor = Callable[[ReceivedText], InboundMessage]


def messages_for(service: ServiceRules, rules: RulesInForce, default_region: str) -> MessageFor:
    """How a text of `service` becomes the InboundMessage `/webhooks/notify` would have made
    of it (WebhookError when its fields can't)."""
    region = service.service.region
    region_for = region_lookup(rules)

    def message_for(text: ReceivedText) -> InboundMessage:
        parsed = received_text(
            text.kept.id,
            text.user_number,
            text.notify_number,
            text.content,
            text.created_at,
            region,
        )
        return to_message(PROVIDER, parsed, region_for, default_region)

    return message_for


async def walk(
    read_page: ReadPage,
    known: Known,
    durable: Durable,
    plan: Walk,
    message_for: MessageFor,
    on_page: Callable[[Walked], Awaitable[None]] | None = None,
) -> Walked:
    """Walk Notify's pages newest first, publishing what `known` doesn't have, until `plan`
    says stop. Notify failing or no store taking a message ends it part-way (`failure`)."""
    walked = Walked()
    try:
        await _walk(read_page, known, durable, plan, message_for, on_page, walked)
    except (NotifyReadFailed, PublishFailed) as error:
        walked.failure = str(error)
    return walked


async def _walk(
    read_page: ReadPage,
    known: Known,
    durable: Durable,
    plan: Walk,
    message_for: MessageFor,
    on_page: Callable[[Walked], Awaitable[None]] | None,
    walked: Walked,
) -> None:
    cursor: str | None = None
    seen_cursors: set[str] = set()
    while True:
        texts = await read_page(cursor)
        walked.pages += 1
        kept = [text.kept for text in texts]
        has = await known([k.id for k in kept])
        decided = step(kept, has, plan)
        walked.read += decided.read
        by_id = {text.kept.id: text for text in texts}
        for notify_id in decided.missing:
            try:
                message = message_for(by_id[notify_id])
            except WebhookError as error:
                walked.unusable += 1
                log.warning("notify_text_unusable", notify_id=notify_id, why=str(error))
                continue
            await durable.publish(message)
            walked.published += 1
        if on_page is not None:
            await on_page(walked)
        if decided.older_than is None:
            walked.ended = decided.ended
            return
        if decided.older_than in seen_cursors:  # Notify gave a page twice: go no further
            walked.failure = "Notify listed the same page twice"
            return
        seen_cursors.add(decided.older_than)
        cursor = decided.older_than


def notify_services(rules: RulesInForce) -> list[ServiceRules]:
    """The services whose rule file names a Notify API key (`service.notify.api_key_env`)."""
    return [
        service
        for service in rules().book.services.values()
        if service.service.notify is not None and service.service.notify.api_key_env
    ]


def region_lookup(rules: RulesInForce) -> RegionLookup:
    """The region of the service owning a number, as the receiver looks it up."""

    def region_for(number: str) -> str | None:
        owner = rules().service_for(number)
        return owner.service.region if owner else None

    return region_for


def process_name() -> str:
    """Who holds a lease: host, process id and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class PollSettings:
    """The settings a poll reads (from Settings: INBOUND_NOTIFY_*)."""

    base_url: str
    every: timedelta
    timeout: float
    default_region: str


class NotifyPoller:
    """Polls Notify for every service with an API key; each service by one process at a time,
    once every `settings.every` however many processes run (the `notify_polls` lease)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rules: RulesInForce,
        durable: Durable,
        http: aiohttp.ClientSession,
        settings: PollSettings,
        key_for: Callable[[str], str | None] = os.environ.get,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._rules = rules
        self._durable = durable
        self._http = http
        self._settings = settings
        self._key_for = key_for
        self._clock = clock
        self._holder = process_name()
        self._told: set[tuple[str, str]] = set()  # problems already logged, once each

    async def step(self) -> bool:
        """Poll each service that is due (a Periodic step): one service failing (the database
        away) is logged and leaves the others their turn."""
        for service in notify_services(self._rules):
            try:
                await self.poll(service)
            except Exception as error:  # its lease lapses; the poll is tried again then
                log.warning(
                    "notify_poll_failed", service=service.service.id, why=type(error).__name__
                )
        return False

    async def poll(self, service: ServiceRules) -> Walked | None:
        """Poll one service if it is due and no other process is polling it."""
        service_id = service.service.id
        notify = service.service.notify
        assert notify is not None
        assert notify.api_key_env is not None
        key = self._key_for(notify.api_key_env)
        if not key:
            self._once(service_id, "no_key", variable=notify.api_key_env)
            return None
        try:
            client = ReceivedTexts(self._http, self._settings.base_url, key, self._settings.timeout)
        except NotifyReadFailed as error:
            self._once(service_id, "bad_key", variable=notify.api_key_env, why=str(error))
            return None
        async with self._sessions.begin() as session:
            lease = await NotifyPolls(session).claim(
                service_id, self._holder, self._clock(), self._settings.every, LEASE
            )
        if lease is None:
            return None
        began = self._clock()
        # The first poll of a service reads only the last OVERLAP: what Notify kept from before
        # inbound took the service's texts was answered elsewhere, and publishing a week of it
        # would act on week-old replies (auto-replies, callbacks). `inbound notify backfill`
        # fetches it on purpose.
        since = began - (NOTIFY_KEEPS if lease.covered_to is not None else OVERLAP)
        # Notify failing and no store taking a text end the walk with a `failure`; anything
        # else (the database) raises, and the lease, left held, lapses within LEASE.
        walked = await walk(
            client.page,
            self._known,
            self._durable,
            Walk(since, until_known=True, covered_to=lease.covered_to),
            messages_for(service, self._rules, self._settings.default_region),
            on_page=lambda _: self._renew(lease),
        )
        # Coverage moves only after a walk that got to its end: what Notify had when it began
        # was all seen. A failed one is tried again after `every`, from the coverage before it.
        covered = began if walked.ended is not None else None
        async with self._sessions.begin() as session:
            await NotifyPolls(session).finish(lease, self._clock(), covered)
        self._log(service_id, walked)
        return walked

    async def _known(self, ids: list[str]) -> set[str]:
        async with self._sessions.begin() as session:
            return await NotifyPolls(session).known(PROVIDER, ids)

    async def _renew(self, lease: Lease) -> None:
        async with self._sessions.begin() as session:
            await NotifyPolls(session).renew(lease, self._clock() + LEASE)

    def _once(self, service_id: str, problem: str, **fields: str) -> None:
        if (service_id, problem) not in self._told:
            self._told.add((service_id, problem))
            log.warning(f"notify_poll_{problem}", service=service_id, **fields)

    @staticmethod
    def _log(service_id: str, walked: Walked) -> None:
        counts: Mapping[str, object] = {
            "service": service_id,
            "pages": walked.pages,
            "read": walked.read,
            "published": walked.published,
            "already": walked.already,
            "unusable": walked.unusable,
        }
        if walked.failure is not None:
            log.warning("notify_poll_failed", **counts, why=walked.failure)
        elif walked.published or walked.unusable:
            log.info("notify_poll_published", **counts, ended=str(walked.ended))
        else:
            log.debug("notify_poll_done", **counts, ended=str(walked.ended))


# How often a process asks whether a service's poll is due: the lease row decides, so the
# fleet polls each service about every INBOUND_NOTIFY_POLL_EVERY whichever process's turn it is.
TICK = 30.0


def poll_tick(every: float) -> float:
    """Seconds between a process's looks at the lease rows."""
    return min(every, TICK)


async def open_poller(
    connection: AbstractRobustConnection,
    names: BrokerNames,
    sessions: async_sessionmaker[AsyncSession],
    rules: RulesInForce,
    http: aiohttp.ClientSession,
    settings: Settings,
) -> NotifyPoller:
    """A poller publishing as the receiver does: RabbitMQ confirmed within
    INBOUND_SPOOL_AFTER, else the spool (which a receiver process's relay drains)."""
    publisher = await Publisher.open(
        connection, names, settings.delivery_limit, settings.spool_after
    )
    durable = PublishOrSpool(publisher, sessions, spool_write_bound(settings.spool_after))
    return NotifyPoller(
        sessions,
        rules,
        durable,
        http,
        PollSettings(
            base_url=settings.notify_base_url,
            every=timedelta(seconds=settings.notify_poll_every),
            timeout=settings.callback_timeout,
            default_region=settings.default_region,
        ),
    )
