"""The actions outbox: record side effects in the deciding transaction, hand them to RabbitMQ
after the commit, and sweep up any hand-over that was lost.

Both the rules worker and the review desk record through `record_outcome_effects` (or `record`)
and hand over through one `Outbox`, made once at start-up. The action worker delivers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions.effects import (
    EffectPolicy,
    Effects,
    OptChange,
    PlannedAction,
    SenderHistory,
    StoredMessage,
    needs_history,
    plan_effects,
)
from inbound.actions.queue import ActionQueue
from inbound.broker.publisher import PublishFailed
from inbound.logs import get_logger
from inbound.prompts.model import Prompt
from inbound.rules.model import Rule, ServiceRules
from inbound.states import ActionState
from inbound.store.actions import Actions
from inbound.store.opt_outs import OptOuts

log = get_logger("outbox")

# Actions left unpublished this long (a stop between commit and hand-over) are handed over again.
SWEEP_AFTER = timedelta(seconds=10)
SWEEP_BATCH = 500
SWEEP_INTERVAL = 5.0


async def sender_history(
    session: AsyncSession, service_id: str, number: str, now: datetime
) -> SenderHistory:
    """What `plan_effects` needs to know of a sender; locks the number's replies until commit
    so concurrent workers can't each see room under the reply cap."""
    actions = Actions(session)
    await actions.lock_recipient(service_id, number)
    return SenderHistory(
        opted_out=await OptOuts(session).is_opted_out(service_id, number),
        replies_last_hour=await actions.replies_since(service_id, number, now - timedelta(hours=1)),
    )


async def record_outcome_effects(
    session: AsyncSession,
    *,
    service: ServiceRules,
    message: StoredMessage,
    action: str,
    captures: Mapping[str, str],
    rule: Rule | None,
    policy: EffectPolicy,
    decided_by: str | None = None,
    prompt: Prompt | None = None,
    hold_until: datetime | None = None,
    language: str | None = None,
) -> list[int]:
    """Load what the decision needs, decide the outcome's effects, write them; return the ids
    of the actions to hand over after the commit. `prompt`: the prompt the reply answered;
    `hold_until`: none is sent before then (the sweep hands them over), and none is returned;
    `language`: the one the person wrote in, for the rule's reply."""
    now = datetime.now(UTC)
    service_id = service.service.id
    history = (
        await sender_history(session, service_id, message.sender, now)
        if needs_history(rule, message.sender)
        else None
    )
    effects = plan_effects(
        service=service,
        message=message,
        action=action,
        captures=captures,
        rule=rule,
        policy=policy,
        history=history,
        now=now,
        decided_by=decided_by,
        prompt=prompt,
        language=language,
    )
    return await record(session, service_id, message, effects, hold_until)


async def record(
    session: AsyncSession,
    service_id: str,
    message: StoredMessage,
    effects: Effects,
    hold_until: datetime | None = None,
) -> list[int]:
    """Write the effects in the caller's transaction; return the ids of the pending actions
    to hand over now (none when they are held until `hold_until`)."""
    opt_outs = OptOuts(session)
    if effects.opt_change is OptChange.OUT:
        await opt_outs.opt_out(service_id, message.sender)
    elif effects.opt_change is OptChange.IN:
        await opt_outs.opt_in(service_id, message.sender)
    ids = await _write(session, service_id, message.id, effects.actions, hold_until)
    return [] if hold_until is not None else ids


async def _write(
    session: AsyncSession,
    service_id: str,
    message_id: int,
    planned: Sequence[PlannedAction],
    hold_until: datetime | None = None,
) -> list[int]:
    actions = Actions(session)
    rows = [
        await actions.add(
            message_id=message_id,
            service_id=service_id,
            kind=one.kind,
            key=one.key,
            payload=one.payload,
            recipient=one.recipient,
            state=one.state,
            note=one.note,
            flush=False,
            not_before=hold_until,
        )
        for one in planned
    ]
    # One flush for the message's actions (a batch of messages shares the round trips).
    await session.flush()
    return [
        row.id for row, one in zip(rows, planned, strict=True) if one.state is ActionState.PENDING
    ]


async def record_action(
    session: AsyncSession,
    service_id: str,
    message_id: int,
    planned: PlannedAction,
    hold_until: datetime | None = None,
) -> list[int]:
    """Write one planned action (a caseworker's reply); return its id if it is to be sent now
    (none when it is held until `hold_until`, as a decision's effects are)."""
    ids = await _write(session, service_id, message_id, [planned], hold_until)
    return [] if hold_until is not None else ids


class Outbox:
    """Hands committed actions to RabbitMQ; what it can't hand over, the sweep hands over later."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], queue: ActionQueue | None
    ) -> None:
        self._sessions = sessions
        self._queue = queue  # None: a process that records but never delivers (a command)

    async def hand_over(self, ids: Iterable[int]) -> None:
        """Queue committed actions for delivery now. A failure only logs: the actions are in
        the database, so the sweep finds them, and the caller's message can still be acked."""
        wanted = list(ids)
        if self._queue is None or not wanted:
            return
        try:
            # Each with its service, so the action worker can send one round again while its
            # service is busy without reading it from the database (one read for them all).
            async with self._sessions() as session:
                services = await Actions(session).services_of(wanted)
            await self._queue.due(wanted, services)
            async with self._sessions.begin() as session:
                await Actions(session).mark_published(wanted)
        except (PublishFailed, SQLAlchemyError, OSError) as error:
            log.warning("actions_left_for_sweep", count=len(wanted), error=type(error).__name__)

    async def sweep(self) -> bool:
        """Hand over pending actions that were committed but never queued (a stop between
        commit and hand-over), and those whose worker died holding their claim (its claim has
        lapsed; `attempts.claim_until`); True when a full batch was found and more may wait."""
        if self._queue is None:
            return False
        now = datetime.now(UTC)
        # No transaction spans a publish: on SQLite a write held while RabbitMQ is away would
        # stall every other writer (webhooks' spool writes among them) for the publish's bound.
        async with self._sessions() as session:
            repo = Actions(session)
            # Also those a caseworker's decision held back for its undo window, once it passed.
            ids = await repo.unpublished(now - SWEEP_AFTER, SWEEP_BATCH, now)
            lapsed = await repo.lapsed_claims(now, SWEEP_BATCH)
            services = await repo.services_of([*ids, *lapsed]) if ids or lapsed else {}
        if ids:
            await self._queue.due(ids, services)
            async with self._sessions.begin() as session:
                await Actions(session).mark_published(ids)
            log.warning("actions_republished", count=len(ids))
        if lapsed:
            # Handed over first, then let go (only claims still lapsed as of `now`: a worker
            # that claimed a copy meanwhile keeps its claim). If the publish fails the claims
            # stay lapsed for the next sweep; if the let-go fails, the next sweep hands them
            # over again, and the claim lets one copy through.
            await self._queue.due(lapsed, services)
            async with self._sessions.begin() as session:
                await Actions(session).let_go_lapsed(lapsed, now)
            log.warning("actions_reclaimed", count=len(lapsed))
        return len(ids) >= SWEEP_BATCH or len(lapsed) >= SWEEP_BATCH
