"""The "process a message" use case: dedupe, store, match (to the rules, and to the prompts the
service sent the sender), record — in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.actions.effects import EffectPolicy, Effects
from inbound.actions.notify_callback import Handled, plan_received_text, sends_received_texts
from inbound.actions.outbox import record, record_outcome_effects
from inbound.concat import join_parts
from inbound.message import InboundMessage
from inbound.outcome import Route, Status, route
from inbound.rules.compiled import CompiledRules
from inbound.rules.match import Decision
from inbound.states import PartGroupState
from inbound.store.messages import Messages, NewMessage
from inbound.store.models import Message, MessagePart, PartGroup
from inbound.store.parts import MessageParts
from inbound.store.prompts import Prompts, StoredPrompt

DEFAULT_POLICY = EffectPolicy()
# A reply whose prompt another reply answered meanwhile is decided again from the new state;
# more than a few such races for one message means something else is wrong.
DECIDE_AGAIN = 3


class PromptsChanged(Exception):
    """A prompt this transaction decided from was changed by another reply before it could
    record its answer: the transaction is rolled back, and the reply decided again."""


class _SenderPrompts:
    """The prompts of the senders of the messages being processed, as they stand after each
    decision so far: two replies from one number in a batch see each other's answers."""

    def __init__(self, stored: dict[tuple[str, str], list[StoredPrompt]]) -> None:
        self._prompts = {pair: [one.prompt for one in ones] for pair, ones in stored.items()}
        self._ids = {one.prompt.key: one.id for ones in stored.values() for one in ones}

    @classmethod
    async def load(
        cls, session: AsyncSession, rules: CompiledRules, messages: Sequence[InboundMessage]
    ) -> _SenderPrompts:
        pairs = []
        for message in messages:
            service = rules.service_for(message.recipient)
            if service is not None:
                pairs.append((service.service.id, message.sender))
        return cls(await Prompts(session).for_senders(pairs) if pairs else {})

    def route(
        self, rules: CompiledRules, message: InboundMessage, review_reason: str | None = None
    ) -> Route:
        """Decide `message` with its sender's prompts, and apply its answer (if any) to them."""
        service = rules.service_for(message.recipient)
        pair = (service.service.id, message.sender) if service else None
        prompts = self._prompts.get(pair, []) if pair else []
        plan = route(rules, message, review_reason, prompts)
        if plan.transition is not None and pair is not None:
            before, after = plan.transition.before, plan.transition.after
            self._prompts[pair] = [after if p.key == before.key else p for p in prompts]
        return plan

    async def record_answers(
        self, session: AsyncSession, answered: Sequence[tuple[Route, Message]]
    ) -> None:
        """Store the answers the stored replies give their prompts, in one statement; raise
        `PromptsChanged` when another reply changed one of the prompts since it was read."""
        answers = [
            (self._ids[plan.transition.before.key], plan.transition, stored.id)
            for plan, stored in answered
            if plan.transition is not None
        ]
        if not await Prompts(session).record_answers(answers):
            raise PromptsChanged("another reply answered a prompt first")

    def new_message(self, plan: Route) -> NewMessage:
        """What to store for a planned message, with the id of the prompt it was matched to."""
        prompt = plan.prompt
        return NewMessage(
            plan.message,
            plan.service_id,
            plan.status,
            self._ids.get(prompt.key) if prompt else None,
            plan.matched.reason if plan.matched else None,
        )


@dataclass(frozen=True)
class Result:
    """What processing did with one message."""

    status: Status
    service_id: str | None = None
    decision: Decision | None = None
    actions: tuple[int, ...] = ()  # callbacks and replies to hand to the action worker


async def process_message(
    sessions: async_sessionmaker[AsyncSession],
    rules: CompiledRules,
    message: InboundMessage,
    policy: EffectPolicy = DEFAULT_POLICY,
) -> Result:
    """Store the message once and record exactly one outcome or review item for it.

    A part of a concatenated SMS is stored and held until its group is complete; the part that
    completes it processes the joined whole.
    """
    for attempt in range(1, DECIDE_AGAIN + 1):
        try:
            return await _process_once(sessions, rules, message, policy)
        except PromptsChanged:
            if attempt == DECIDE_AGAIN:
                raise
    raise AssertionError("unreachable")


async def _process_once(
    sessions: async_sessionmaker[AsyncSession],
    rules: CompiledRules,
    message: InboundMessage,
    policy: EffectPolicy,
) -> Result:
    try:
        async with sessions.begin() as session:
            if message.part is not None:
                return await _process_part(session, rules, message, policy)
            # No SELECT first: the insert itself meets the unique constraint on a duplicate,
            # which saves a round trip on every message that isn't one (the common case).
            result, _ = await _store_and_decide(session, rules, message, policy)
            return result
    except IntegrityError:
        # A redelivery, or another worker stored it first; anything else must not be acked.
        async with sessions() as session:
            key = (message.provider, message.provider_message_id)
            if message.part is not None:
                stored = await MessageParts(session).exists(*key)
            else:
                stored = await Messages(session).exists(*key)
        if stored:
            return Result(Status.DUPLICATE)
        raise


async def process_batch(
    sessions: async_sessionmaker[AsyncSession],
    rules: CompiledRules,
    messages: Sequence[InboundMessage],
    policy: EffectPolicy = DEFAULT_POLICY,
) -> list[Result]:
    """Process whole messages (no parts, distinct keys) in one transaction, one result each.

    One commit and a few statements for the lot instead of several round trips and a commit per
    message. Raises if anything fails (`PromptsChanged` when another reply answered one of the
    prompts first), and then nothing of the batch is committed: the caller falls back to one
    by one, which tells a bad message from the rest and decides the replies again.
    """
    async with sessions.begin() as session:
        senders = await _SenderPrompts.load(session, rules, messages)
        planned = [senders.route(rules, message) for message in messages]
        repo = Messages(session)
        stored = await repo.add_new([senders.new_message(plan) for plan in planned])
        for plan in planned:
            if plan.transition is not None and _key(plan) not in stored:
                # A redelivery was planned as answering a prompt, and later replies in the
                # batch were decided on that; the stored first copy may have decided otherwise.
                raise PromptsChanged("a redelivered reply was planned as an answer")
        outcomes: list[dict[str, object]] = []
        reviews: list[dict[str, object]] = []
        for plan in planned:
            row = stored.get(_key(plan))
            if row is None:
                continue
            if plan.status is Status.REPEAT:
                continue  # the same answer again: stored, with no second outcome
            if plan.status is Status.PROCESSED:
                assert plan.decision is not None
                outcomes.append(
                    {
                        "message_id": row.id,
                        "service_id": plan.service_id,
                        "action": plan.decision.action,
                        "rule": plan.decision.rule,
                        "captures": dict(plan.decision.captures),
                    }
                )
            else:
                reviews.append(
                    {
                        "message_id": row.id,
                        "service_id": plan.service_id,
                        "reason": plan.review_reason,
                        "rule": plan.decision.rule if plan.decision else None,
                        # The queue's day filter reads the item's own copy (migration 0017).
                        "received_at": row.accepted_at,
                    }
                )
        await repo.add_decisions(outcomes, reviews)
        await senders.record_answers(
            session,
            [(plan, row) for plan in planned if (row := stored.get(_key(plan))) is not None],
        )
        results = []
        for plan in planned:
            row = stored.get(_key(plan))
            if row is None:
                results.append(Result(Status.DUPLICATE))  # stored before: nothing done again
                continue
            actions = await _received_text(session, plan, row, policy)
            if plan.status is Status.PROCESSED:
                actions += await _effects(session, rules, plan, row, policy)
            results.append(Result(plan.status, plan.service_id, plan.decision, actions))
    return results


async def _received_text(
    session: AsyncSession, plan: Route, stored: Message, policy: EffectPolicy
) -> tuple[int, ...]:
    """The text itself, to a service whose callback takes every text in Notify's shape."""
    if plan.service is None or not sends_received_texts(plan.service):
        return ()
    decided = plan.decision if plan.status is Status.PROCESSED else None
    handled = Handled(
        plan.status.value,
        decided.action if decided else None,
        decided.rule if decided else None,
        plan.prompt.reference if plan.prompt else None,
    )
    planned = plan_received_text(plan.service, stored, handled, policy)
    if planned is None:
        return ()
    return tuple(await record(session, plan.service.service.id, stored, Effects(None, (planned,))))


async def _effects(
    session: AsyncSession, rules: CompiledRules, plan: Route, stored: Message, policy: EffectPolicy
) -> tuple[int, ...]:
    assert plan.service is not None
    assert plan.decision is not None
    assert plan.decision.action is not None
    actions = await record_outcome_effects(
        session,
        service=plan.service,
        message=stored,
        action=plan.decision.action,
        captures=plan.decision.captures,
        rule=rules.rule(plan.service, plan.decision.rule),
        policy=policy,
        prompt=plan.matched.answered if plan.matched else None,
        language=plan.decision.language,
    )
    return tuple(actions)


def _key(plan: Route) -> tuple[str, str]:
    return (plan.message.provider, plan.message.provider_message_id)


async def expire_overdue_parts(
    sessions: async_sessionmaker[AsyncSession],
    rules: CompiledRules,
    first_seen_before: datetime,
    policy: EffectPolicy = DEFAULT_POLICY,
) -> int:
    """Send the parts of groups still incomplete after the timeout to review; return how many."""
    async with sessions() as session:
        overdue = await MessageParts(session).overdue(first_seen_before)
    expired = 0
    for group_id in overdue:
        async with sessions.begin() as session:
            parts = MessageParts(session)
            group = await parts.lock(group_id)
            if group is None or group.state != PartGroupState.WAITING:
                continue  # completed or expired by another worker meanwhile
            rows = await parts.of(group)
            joined = join_parts(((row.number, row.text or "") for row in rows), group.total)
            got = group.total - len(joined.missing)
            whole = _whole(group, rows, joined.text)
            reason = f"incomplete multipart message: {got} of {group.total} parts arrived"
            _, stored = await _store_and_decide(session, rules, whole, policy, reason)
            await parts.finish(group, stored.id, PartGroupState.EXPIRED)
            expired += 1
    return expired


async def _process_part(
    session: AsyncSession, rules: CompiledRules, message: InboundMessage, policy: EffectPolicy
) -> Result:
    parts = MessageParts(session)
    if await parts.exists(message.provider, message.provider_message_id):
        return Result(Status.DUPLICATE)
    group = await parts.lock_group(message)
    await parts.add(group, message)
    if group.state != PartGroupState.WAITING:
        # The whole was already stored (or timed out): keep this late part visible to a person.
        assert message.part is not None
        late = f"part {message.part.number} of {group.total} arrived after its message was stored"
        result, _ = await _store_and_decide(session, rules, message, policy, late)
        return result
    rows = await parts.of(group)
    joined = join_parts(((row.number, row.text or "") for row in rows), group.total)
    if not joined.complete:
        return Result(Status.WAITING)
    whole = _whole(group, rows, joined.text)
    result, stored = await _store_and_decide(session, rules, whole, policy)
    await parts.finish(group, stored.id, PartGroupState.JOINED)
    return result


def _whole(group: PartGroup, rows: Sequence[MessagePart], text: str) -> InboundMessage:
    # The joined message takes the id of its lowest-numbered part: stable, and unique per provider.
    first = min(rows, key=lambda row: (row.number, row.id))
    return InboundMessage(
        provider=group.provider,
        provider_message_id=first.provider_message_id,
        sender=group.sender,
        recipient=group.recipient,
        text=text,
        received_at=min(row.received_at for row in rows),
        accepted_at=max(row.accepted_at for row in rows),
    )


async def _store_and_decide(
    session: AsyncSession,
    rules: CompiledRules,
    message: InboundMessage,
    policy: EffectPolicy,
    review_reason: str | None = None,
) -> tuple[Result, Message]:
    senders = await _SenderPrompts.load(session, rules, [message])
    plan = senders.route(rules, message, review_reason)
    new = senders.new_message(plan)
    repo = Messages(session)
    stored = await repo.add(message, plan.service_id, plan.status, new.prompt_id, new.prompt_match)
    await senders.record_answers(session, [(plan, stored)])
    received = await _received_text(session, plan, stored, policy)
    if plan.status is Status.REPEAT:
        return Result(Status.REPEAT, plan.service_id, plan.decision, received), stored
    if plan.status is Status.PROCESSED:
        assert plan.decision is not None
        assert plan.decision.action is not None
        assert plan.decision.rule is not None
        await repo.add_outcome(
            stored,
            stored.service_id or "",
            plan.decision.action,
            plan.decision.rule,
            plan.decision.captures,
        )
        actions = received + await _effects(session, rules, plan, stored, policy)
        return Result(Status.PROCESSED, plan.service_id, plan.decision, actions), stored
    assert plan.review_reason is not None
    rule = plan.decision.rule if plan.decision else None
    await repo.open_review(stored, plan.service_id, plan.review_reason, rule)
    return Result(Status.REVIEW, plan.service_id, plan.decision, received), stored
