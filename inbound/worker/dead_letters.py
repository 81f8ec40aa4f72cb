"""The dead-letter consumer: every message in `<ns>.dead` becomes a review item, with its reason.

A message reaches `<ns>.dead` when processing failed `INBOUND_DELIVERY_LIMIT` times (a poison
message) or when it could not be decoded at all. Here it is given one last try; if processing
still fails, the message is stored as it came (characters the database can't hold replaced) with
a review item naming the failure. A body that doesn't decode is stored as a message from the
pseudo-provider `dead-letter`, id = SHA-256 of the body, text = the body decoded with replacement
characters: nothing is dropped, and a person sees it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions.effects import EffectPolicy
from inbound.broker.consumer import Consumer, Settle
from inbound.broker.topology import BrokerNames
from inbound.logs import get_logger
from inbound.message import InboundMessage
from inbound.outcome import Status
from inbound.rules.compiled import RulesInForce
from inbound.store.messages import Messages
from inbound.store.outage import Stopping, database_answers, through_outage
from inbound.worker.process import DEFAULT_POLICY, process_message

log = get_logger("dead_letters")

DEAD_LETTER_PROVIDER = "dead-letter"
UNKNOWN = "unknown"


def clean(value: str) -> str:
    """Text a database can hold: NUL and lone surrogates become replacement characters."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def death_reason(headers: dict[str, Any] | None) -> str:
    """Why RabbitMQ dead-lettered the message, from its x-death header."""
    deaths = (headers or {}).get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        reason = deaths[0].get("reason")
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if reason == "delivery_limit":
            return "delivery limit reached"
        return str(reason or "dead-lettered")
    return "dead-lettered"


def describe_failure(error: BaseException) -> str:
    """The failure in a line for the review item: the driver's own message when there is one
    (SQLAlchemy's text would quote the statement's parameters)."""
    source: BaseException = error.orig if isinstance(error, DBAPIError) and error.orig else error
    first = (str(source).splitlines() or [""])[0][:200]
    return f"{type(source).__name__}: {first}" if first else type(source).__name__


def undecodable(body: bytes) -> InboundMessage:
    """A stand-in message for a body that isn't an InboundMessage, keeping all of it."""
    now = datetime.now(UTC)
    # model_construct: the body may be longer than a real SMS; it is kept whole all the same.
    return InboundMessage.model_construct(
        provider=DEAD_LETTER_PROVIDER,
        provider_message_id=hashlib.sha256(body).hexdigest(),
        sender=UNKNOWN,
        recipient=UNKNOWN,
        text=clean(body.decode("utf-8", "replace")),
        received_at=now,
        accepted_at=now,
        part=None,
    )


class DeadLetterWorker:
    """Consumes `<ns>.dead` and files each message for review; acks only after the commit."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        sessions: async_sessionmaker[AsyncSession],
        rules: RulesInForce,
        *,
        policy: EffectPolicy = DEFAULT_POLICY,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self._names = names
        self._sessions = sessions
        self._rules = rules
        self._policy = policy
        self._consumer = Consumer(
            connection,
            self._declare,
            self._handle,
            name="dead-letters",
            prefetch=8,
            shutdown_timeout=shutdown_timeout,
        )
        self.filed = 0

    async def start(self) -> None:
        """Consume the dead-letter queue (declared with the rest of the topology)."""
        await self._consumer.start()

    async def stop(self) -> None:
        """Stop consuming, let what is in flight finish, close the channel."""
        await self._consumer.stop()

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        return await channel.declare_queue(
            self._names.dead, durable=True, arguments={"x-queue-type": "quorum"}
        )

    async def _handle(self, incoming: AbstractIncomingMessage) -> Settle:
        try:
            await through_outage(
                lambda: self._file(incoming), self._sessions, self._consumer.stopping
            )
        except Stopping:
            return Settle.LEAVE
        except Exception as error:  # kept in the dead queue, tried again: never dropped
            log.error("dead_letter_not_filed", error=type(error).__name__)
            return Settle.RETRY
        self.filed += 1
        return Settle.ACK

    async def _file(self, incoming: AbstractIncomingMessage) -> None:
        why = death_reason(incoming.headers)
        try:
            message = InboundMessage.model_validate_json(incoming.body)
        except ValidationError:
            stand_in = undecodable(incoming.body)
            await self._store_for_review(
                stand_in, f"undecodable message ({why}): {len(incoming.body)} bytes kept as text"
            )
            log.warning("dead_letter_undecodable_filed", message=stand_in.key, reason=why)
            return
        try:
            # One last try: a failure that has gone away ends in the normal outcome.
            result = await process_message(self._sessions, self._rules(), message, self._policy)
        except Exception as error:
            if not await database_answers(self._sessions):
                raise  # an outage, not this message: wait and try again
            reason = f"processing failed ({why}): {describe_failure(error)}"
            await self._store_for_review(_storable(message), reason)
            log.warning("dead_letter_filed_for_review", message=message.key, reason=why)
            return
        if result.status is Status.DUPLICATE:
            log.info("dead_letter_already_stored", message=message.key)
        else:
            log.info("dead_letter_processed", message=message.key, status=result.status)

    async def _store_for_review(self, message: InboundMessage, reason: str) -> None:
        async with self._sessions.begin() as session:
            repo = Messages(session)
            if await repo.exists(message.provider, message.provider_message_id):
                return  # already stored (and so already has its outcome or review item)
            owner = self._rules().service_for(message.recipient)
            service_id = owner.service.id if owner else None
            stored = await repo.add(message, service_id, Status.REVIEW)
            await repo.open_review(stored, service_id, reason[:500], None)


def _storable(message: InboundMessage) -> InboundMessage:
    return message.model_copy(
        update={
            "provider_message_id": clean(message.provider_message_id),
            "sender": clean(message.sender),
            "recipient": clean(message.recipient),
            "text": clean(message.text),
            "part": None,  # stored as received: the review item is about this part alone
        }
    )
