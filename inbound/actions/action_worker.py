"""The action worker: delivers callbacks and replies, retrying through delay queues."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import Enum

import aiohttp
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions import callback
from inbound.actions.attempts import (
    CLAIM_MARGIN,
    Attempt,
    after_attempt,
    claim_until,
)
from inbound.actions.backoff import RetryPolicy
from inbound.actions.event import headers
from inbound.actions.queue import ActionQueue, queued
from inbound.actions.sender import OutboundSender, SendFailed
from inbound.broker.consumer import Consumer, Settle
from inbound.broker.publisher import PublishFailed
from inbound.broker.topology import BrokerNames, declare_actions
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.states import ActionKind, ActionState
from inbound.store.actions import Actions, Claimed
from inbound.store.messages import Messages

log = get_logger("actions")


class Turn(Enum):
    """What a delivery gets when it asks for one of its service's places."""

    GO = "go"  # it has a place: attempt the action
    LATER = "later"  # no place and no room to wait: send it round a delay queue
    STOP = "stop"  # the worker is stopping: leave the delivery for RabbitMQ to hand back


# A delivery waits here for its service's turn only if that is likely to come within this many
# seconds; otherwise it goes round a delay queue (holding it longer would keep it from any
# other worker process, and RabbitMQ closes a channel that holds one for too long).
HOLD_FOR = 5.0

# A service whose attempts lately took less than QUICK seconds gets QUICK_PLACES times its
# places: its attempts give a place back almost at once, so they can't keep one from anyone for
# long, and a burst of its own (what the rules worker decided behind another service's flood)
# clears in a fraction of the time. A slow or hanging service keeps `per_service`.
QUICK = 1.0
QUICK_PLACES = 4


class ActionWorker:
    """Consumes due actions; a slow or failing service only ever holds its own few slots."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        names: BrokerNames,
        sessions: async_sessionmaker[AsyncSession],
        queue: ActionQueue,
        *,
        http: aiohttp.ClientSession,
        sender: OutboundSender,
        secret_for: Callable[[str], str | None],
        policy: RetryPolicy,
        callback_timeout: float,
        prefetch: int = 512,
        per_service: int = 4,
        metrics: Metrics | None = None,
        shutdown_timeout: float = 10.0,
        claim_margin: float = CLAIM_MARGIN,
    ) -> None:
        self._connection = connection
        self._names = names
        self._sessions = sessions
        self._http = http
        self._sender = sender
        self._secret_for = secret_for
        self._policy = policy
        self._callback_timeout = callback_timeout
        self._claim_margin = claim_margin
        self._prefetch = prefetch
        self._per_service = per_service
        self._busy: defaultdict[str, int] = defaultdict(int)
        # Deliveries waiting for a place, per service, first come first served: a place that
        # comes free is handed to the first of them (waking one, not all).
        self._queued: defaultdict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        # Deliveries held waiting for their service's turn: up to half the prefetch in all, and
        # for one service no more than it is likely to get through in HOLD_FOR seconds, so a
        # service that floods or hangs can't take the waiting room from the others; beyond
        # that they come back later.
        self._waiting = 0
        self._waiting_for: defaultdict[str, int] = defaultdict(int)
        # How long a service's attempts take lately (seconds, a moving average): an action
        # sent round again waits about as long as its turn is likely to take.
        self._took: dict[str, float] = {}
        self._metrics = metrics or Metrics.create()
        self._queue = queue  # for retries: an action goes to the delay queue of its next try
        self._consumer = Consumer(
            connection,
            self._declare,
            self._handle,
            name="actions",
            prefetch=prefetch,
            shutdown_timeout=shutdown_timeout,
        )

    async def start(self) -> None:
        """Start consuming due actions."""
        await self._consumer.start()

    async def stop(self) -> None:
        """Take no new actions, let those in flight finish (within the shutdown timeout), then
        close the channel: unacked actions return to the queue."""
        await self._consumer.stop()

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        topology = await declare_actions(channel, self._names, list(self._policy.delays))
        return topology.actions

    async def _handle(self, incoming: AbstractIncomingMessage) -> Settle:
        found, service = queued(incoming.body)
        if found is None:
            log.error("undecodable_action")
            return Settle.DEAD_LETTER
        try:
            if service is None:
                # A message queued before messages named their service (rare): read it.
                service = await self._service_of(found)
                if service is None:
                    return Settle.ACK  # no such action any more
            # The service's turn comes before the claim, so a claim is never held while the
            # action waits (up to HOLD_FOR) for a place: it lasts only the send and its record.
            turn = await self._turn(service)
            if turn is Turn.LATER:
                # This service already has its share in flight and enough waiting: come back
                # later rather than hold a prefetch slot another service's action could use.
                await self._later(found, service)
                return Settle.ACK
            if turn is Turn.STOP:
                return Settle.LEAVE  # stopping: RabbitMQ hands it back when the channel closes
            try:
                # Claim it before sending: of two copies of this action handled at once (a
                # redelivery and the sweep's hand-over, say), only one may send it. The claim
                # also loads the action, so a delivery reads nothing else.
                claimed = await self._claim(found)
                if claimed is None:
                    return await self._not_claimed(found)
                started = time.monotonic()
                attempt = await self._attempt(claimed)
                self._timed(service, time.monotonic() - started)
            finally:
                self._release(service)
            result = "delivered" if attempt.ok else "failed"
            self._metrics.action_attempts.labels(claimed.kind, result).inc()
            await self._record(claimed, attempt)
        except (SQLAlchemyError, OSError, PublishFailed) as error:
            log.error("action_failed_will_retry", action=found, error=type(error).__name__)
            return Settle.RETRY
        return Settle.ACK

    async def _service_of(self, action: int) -> str | None:
        async with self._sessions() as session:
            return (await Actions(session).services_of([action])).get(action)

    async def _claim(self, action: int) -> Claimed | None:
        """Claim the action for one attempt and load it; None when another worker holds it (or
        it is no longer pending). The claim outlasts the send's timeout by a margin, so a
        worker that dies holding it holds it up only that long."""
        now = datetime.now(UTC)
        until = claim_until(now, self._callback_timeout, self._claim_margin)
        async with self._one_statement() as session:
            return await Actions(session).claim(action, now=now, until=until)

    @contextlib.asynccontextmanager
    async def _one_statement(self) -> AsyncIterator[AsyncSession]:
        """A session for one statement, which commits as it runs: a claim or a record is one
        conditional UPDATE, atomic by itself, so BEGIN and COMMIT would only add two round
        trips, each a wait for the event loop's turn when it is busy (a flood, say)."""
        async with self._sessions() as session:
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session

    async def _not_claimed(self, action: int) -> Settle:
        # Done already, gone, or another copy of it is being sent. Only the last is worth a
        # line, and telling them apart takes a read, but only on this rare path. The holder
        # records the attempt (and queues any retry), or, if it died, the sweep hands the
        # action over once the claim lapses. This copy is done with.
        async with self._sessions() as session:
            found = await Actions(session).claim_of(action)
        if found is not None and found[0] == ActionState.PENDING:
            log.info("action_claimed_elsewhere", action=action)
        return Settle.ACK

    async def _turn(self, service_id: str) -> Turn:
        """Take one of the service's places, waiting for one if there is room to wait: GO
        with a place (give it back with `_release`), LATER to send the action round again,
        STOP when the worker stops while it waits."""
        if self._busy[service_id] < self._places(service_id):
            self._busy[service_id] += 1
            return Turn.GO
        if not self._has_room(service_id):
            return Turn.LATER
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queued = self._queued[service_id]
        queued.append(handed)
        self._waiting += 1
        self._waiting_for[service_id] += 1
        stopping = asyncio.ensure_future(self._consumer.stopping.wait())
        try:
            await asyncio.wait((handed, stopping), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            self._leave_queue(service_id, handed)
            raise
        finally:
            stopping.cancel()
            self._waiting -= 1
            self._waiting_for[service_id] -= 1
        if handed.done():
            return Turn.GO
        self._leave_queue(service_id, handed)
        return Turn.STOP

    def _leave_queue(self, service_id: str, handed: asyncio.Future[None]) -> None:
        if handed.done() and not handed.cancelled():
            self._release(service_id)  # a place was handed over just now: pass it on
            return
        handed.cancel()
        with contextlib.suppress(ValueError):
            self._queued[service_id].remove(handed)

    def _release(self, service_id: str) -> None:
        """Give a place back: to the first delivery waiting for one, or free it (always, when
        the service has more in flight than its places now allow: it slowed down)."""
        queued = self._queued[service_id]
        if self._busy[service_id] <= self._places(service_id):
            while queued:
                waiting = queued.popleft()
                if not waiting.done():
                    waiting.set_result(None)  # the place passes on: busy stays as it is
                    return
        self._busy[service_id] -= 1

    def _places(self, service_id: str) -> int:
        """How many of a service's attempts may run at once: `per_service`, or QUICK_PLACES
        times that while its attempts are quick."""
        took = self._took.get(service_id)
        quick = took is not None and took < QUICK
        return self._per_service * QUICK_PLACES if quick else self._per_service

    def _timed(self, service_id: str, seconds: float) -> None:
        before = self._took.get(service_id)
        self._took[service_id] = seconds if before is None else 0.8 * before + 0.2 * seconds

    def _room_for(self, service_id: str) -> int:
        """How many of a service's deliveries may wait here: what its places get through in
        HOLD_FOR seconds at the pace its attempts take lately (at least `per_service`), and
        never more than half the waiting room, so others always find room to wait too."""
        places = self._places(service_id)
        half = max(places, self._prefetch // 4)
        took = self._took.get(service_id)
        if not took:
            return half  # its pace isn't known yet
        return min(half, max(places, int(places * HOLD_FOR / took)))

    def _has_room(self, service_id: str) -> bool:
        """True when `_turn` would give the service a place now or let it wait for one."""
        return self._busy[service_id] < self._places(service_id) or (
            self._waiting < self._prefetch // 2
            and self._waiting_for[service_id] < self._room_for(service_id)
        )

    async def _later(self, action: int, service_id: str) -> None:
        """Send an action round a delay queue until its service is likely to have a place:
        those in flight and those waiting go first, its places' worth at a time, so a slow
        service's actions come back less often, not every shortest delay."""
        ahead = self._busy[service_id] + self._waiting_for[service_id]
        wait = ahead * self._took.get(service_id, 0.0) / self._places(service_id)
        await self._queue.later(action, self._policy.delay_at_least(wait), service_id)

    async def _attempt(self, row: Claimed) -> Attempt:
        if row.kind == ActionKind.CALLBACK:
            body = json.dumps(row.payload["event"], separators=(",", ":")).encode()
            secret_env = row.payload.get("secret_env")
            secret = self._secret_for(secret_env) if secret_env else None
            sent = headers(secret, int(time.time()), body, row.idempotency_key)
            token_env = row.payload.get("token_env")  # callback.format notify
            if token_env:
                token = self._secret_for(token_env)
                if not token:
                    return Attempt(False, None, f"{token_env} is not set: no token to send")
                sent["Authorization"] = f"Bearer {token}"
            try:
                status = await callback.post(
                    self._http, row.payload["url"], body, sent, self._callback_timeout
                )
            except callback.CallbackFailed as error:
                return Attempt(False, error.status, str(error))
            return Attempt(True, status)
        assert row.recipient is not None
        try:
            await self._sender.send(
                row.recipient, row.payload["text"], row.idempotency_key, row.service_id
            )
        except SendFailed as error:
            return Attempt(False, error.status, str(error), final=error.final)
        return Attempt(True, None)

    async def _record(self, claimed: Claimed, attempt: Attempt) -> None:
        """Decide what follows the attempt from what the claim loaded (only the claim's holder
        changes the attempts), then write it in one conditional UPDATE that also lets go."""
        now = datetime.now(UTC)
        action, kind, attempts = claimed.id, claimed.kind, claimed.attempts + 1
        first = claimed.first_attempt_at or now
        after = after_attempt(
            attempt,
            kind=kind,
            attempts=attempts,
            first_attempt_at=first,
            now=now,
            policy=self._policy,
        )
        # Giving up sends the message to review in the same transaction; otherwise the record
        # is one statement.
        giving_up = after.review_reason is not None
        async with self._sessions.begin() if giving_up else self._one_statement() as session:
            recorded = await Actions(session).record(
                claimed,
                attempts=attempts,
                first_attempt_at=first,
                state=after.state,
                last_error=after.error,
                finished_at=None if after.state is ActionState.PENDING else now,
            )
            if recorded and after.review_reason is not None:
                await Messages(session).flag_for_review(
                    claimed.message_id, claimed.service_id, after.review_reason
                )
        if not recorded:
            # The claim lapsed before the record (a send or a database slower than the
            # margin), and the sweep or another worker took the action over: it is theirs to
            # send and record now. This attempt is dropped, so it may be sent twice; the
            # idempotency key lets the service tell.
            log.warning("action_claim_lost", action=action, kind=kind, attempts=attempts)
            return
        # Every failure's line says why (`attempts.error_reason`: no number, body or secret).
        if after.review_reason is not None:
            log.warning(
                "action_gave_up", action=action, kind=kind, attempts=attempts, reason=after.error
            )
        elif after.state is ActionState.DELIVERED:
            log.info("action_delivered", action=action, kind=kind, attempts=attempts)
        if after.retry_in is not None:
            log.info(
                "action_retry_scheduled",
                action=action,
                kind=kind,
                attempts=attempts,
                delay=after.retry_in,
                reason=after.error,
            )
            await self._queue.later(action, after.retry_in, claimed.service_id)
