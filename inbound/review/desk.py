"""Use cases of the review queue: claim, release, decide, reply, dismiss, note.

The web pages and the JSON API both call these; each is one transaction, audited, and scoped:
an item outside the caseworker's services is `NotFound`, and the attempt is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound import phone
from inbound.actions.effects import EffectPolicy, caseworker_reply, plan_effects
from inbound.actions.outbox import Outbox, record_action, record_outcome_effects, sender_history
from inbound.conversation import Conversation, caseworker_token
from inbound.prompts.matching import decided_by_person
from inbound.prompts.model import Prompt, PromptState
from inbound.review import decisions, labels
from inbound.review.decisions import REPLY_WINDOW, UNDO_WINDOW, Act, Refused, ReplyRoom
from inbound.review.labels import Consequences
from inbound.review.queue_decisions import CLAIM_RELEASE_AFTER
from inbound.review.reason_counts import ReasonCount, count_by_reason, group_named
from inbound.review.security_events import Denied, SecurityEvents
from inbound.rules.canned import Filled, fill
from inbound.rules.compiled import RulesInForce
from inbound.rules.model import Action as RuleAction
from inbound.rules.model import ServiceRules
from inbound.rules.reference_formats import Reference
from inbound.states import ReviewState
from inbound.store.actions import Actions
from inbound.store.conversations import Conversations
from inbound.store.messages import Messages
from inbound.store.models import Message, Outcome, PromptRow, ReviewItem
from inbound.store.opt_outs import OptOuts
from inbound.store.prompts import Prompts
from inbound.store.review import ItemView, QueueFilter, QueuePage, ReviewQueue
from inbound.store.users import Audit, Scope

__all__ = [
    "ConversationView",
    "Desk",
    "ItemDetail",
    "NotFound",
    "Preview",
    "QueueView",
    "Refused",
]

# The default of INBOUND_CASEWORKER_REPLY_CAP_PER_HOUR.
CASEWORKER_REPLY_CAP = 5


class NotFound(Exception):
    """No such item within the caseworker's services (whether or not it exists elsewhere)."""


@dataclass(frozen=True)
class ItemDetail:
    """An item as a caseworker sees it, and whether its sender can be texted now."""

    view: ItemView
    replies: ReplyRoom
    reply_refusal: str | None  # why a reply can't be sent now; None when it can
    conversation: Conversation  # the service's thread with the sender
    canned: tuple[Filled, ...] = ()  # the service's canned replies, filled for this item
    canned_only: bool = False  # the service lets caseworkers send only its canned replies


@dataclass(frozen=True)
class ConversationView:
    """The thread of an item's service with its sender."""

    item_id: int
    service_id: str | None
    number: str  # the sender, in full: callers mask it where they must
    conversation: Conversation


@dataclass(frozen=True)
class QueueView:
    """A page of the queue, and the reference of the prompt each item's message relates to."""

    page: QueuePage
    references: Mapping[int, str]  # message id -> prompt reference
    # The filter's items per reason group, the reason filter left out; empty when not asked for.
    reasons: tuple[ReasonCount, ...] = ()

    def reference(self, message: Message) -> str | None:
        """The reference of the prompt `message` relates to, if any."""
        return self.references.get(message.id)


@dataclass(frozen=True)
class Preview:
    """A decision checked but not made: what it would record, and what it would do."""

    action: str
    captures: Mapping[str, str]  # as they would be stored
    service_id: str
    service_name: str
    consequences: Consequences
    undo_refusal: str | None  # why it couldn't be undone once made; None when it could
    reply: str | None = None  # the caseworker's reply sent with the decision, if any


CHOOSE_OFFERED = "select one of the decisions on the page"
_NO_REPLY = "write the reply, or pick one of the canned replies"


@dataclass(frozen=True)
class ReplyChoice:
    """What a caseworker posted for a reply: a canned reply's name and/or their own text, and
    the form fields they came in (for the error summary)."""

    canned: str
    text: str
    fields: tuple[str, str] = ("canned", "text")


def references(service: ServiceRules, action: str) -> tuple[Reference, ...]:
    """The references (patterns or named formats) of the service's rules for `action`: a
    caseworker's reference is checked against them, as the matcher checks a reply's."""
    return tuple(
        rule.captures.reference
        for rule in service.rules
        if rule.action == action and rule.captures.reference is not None
    )


def reference_hint(service: ServiceRules) -> str:
    """The decide form's hint for the reference: what the service's named formats accept
    ("A GB postcode, like SW1A 1AA"), or, where a rule has a regex, the general words."""
    written = [rule.captures.reference for rule in service.rules if rule.captures.reference]
    if not written or any(reference.kind == "regex" for reference in written):
        return "In the form the service's rules expect"
    hint = " or ".join(dict.fromkeys(reference.description for reference in written))
    return hint[0].upper() + hint[1:]


async def reason_groups(
    session: AsyncSession, scope: Scope, wanted: QueueFilter
) -> tuple[tuple[ReasonCount, ...], QueueFilter]:
    """The filter's items per reason group (its reason filter left out), and the filter with
    a reason naming a group's words turned into that group's stored reasons; any other reason
    stays words the stored reason contains (an older link's)."""
    grouped = count_by_reason(await ReviewQueue(session).reason_counts(scope, wanted))
    chosen = group_named(grouped, wanted.reason) if wanted.reason else None
    if chosen is not None:
        wanted = replace(wanted, reason=None, reasons=chosen.stored)
    return grouped, wanted


@dataclass
class Desk:
    """What the use cases need: the database, the rules in force, the outbox, the limits."""

    sessions: async_sessionmaker[AsyncSession]
    rules: RulesInForce
    outbox: Outbox
    policy: EffectPolicy
    reply_cap_per_hour: int = CASEWORKER_REPLY_CAP  # a caseworker's texts to one number
    events: SecurityEvents = field(default_factory=SecurityEvents.unexported)  # log and metrics
    claim_release_after: timedelta = CLAIM_RELEASE_AFTER  # an untouched claim lapses after it

    async def queue(
        self, scope: Scope, wanted: QueueFilter, address: str | None, by_reason: bool = False
    ) -> QueueView:
        """A page of the queue; with its counts per reason group when `by_reason`. A reason
        filter naming a group's words selects that group's items."""
        async with self.sessions.begin() as session:
            await self.release_untouched(session, scope)
            if wanted.service is not None and not scope.can_see(wanted.service):
                await Audit(session).record(
                    "denied",
                    user_id=scope.user_id,
                    service_id=wanted.service,
                    address=address,
                    detail="queue of another service",
                )
                self.events.access_denied(
                    Denied.QUEUE, user_id=scope.user_id, address=address, service_id=wanted.service
                )
                raise NotFound
            grouped: tuple[ReasonCount, ...] = ()
            if by_reason or wanted.reason:
                grouped, wanted = await reason_groups(session, scope, wanted)
            page = await ReviewQueue(session).page(scope, wanted)
            await Audit(session).record(
                "view_queue", user_id=scope.user_id, service_id=wanted.service, address=address
            )
            related = {row.message.id: row.message.prompt_id for row in page.rows}
            found = await Conversations(session).references(
                {prompt_id for prompt_id in related.values() if prompt_id is not None}
            )
            references = {
                message_id: found[prompt_id]
                for message_id, prompt_id in related.items()
                if prompt_id is not None and prompt_id in found
            }
            return QueueView(page, references, grouped if by_reason else ())

    async def view(self, scope: Scope, item_id: int, address: str | None) -> ItemDetail:
        async with self.sessions.begin() as session:
            await self.release_untouched(session, scope, item_id)  # as the queue shows it
            found = await ReviewQueue(session).view(scope, item_id)
            if found is None:
                await self._denied(session, scope, item_id, "view", address)
            assert found is not None
            await Audit(session).record(
                "view_item",
                user_id=scope.user_id,
                service_id=found.item.service_id,
                item_id=item_id,
                address=address,
            )
            sender, service_id = found.message.sender, found.item.service_id
            now = datetime.now(UTC)
            thread = await Conversations(session).thread(
                service_id, sender, recipient=found.message.recipient, now=now
            )
            if service_id is None:
                room = ReplyRoom(self.reply_cap_per_hour, 0, None)
                refused = "no service owns the number this was sent to"
                return ItemDetail(found, room, refused, thread)
            sent = await Actions(session).replies_since(service_id, sender, now - REPLY_WINDOW)
            room = await self._reply_room(session, service_id, sender, sent, now)
            opted_out = await OptOuts(session).is_opted_out(service_id, sender)
            refusal = decisions.reply_refusal(phone.is_e164(sender), opted_out, room, now)
            service = self.rules().service(service_id)
            if service is None:
                return ItemDetail(found, room, refusal, thread)
            canned = await self._canned(session, service, found.message)
            only = service.service.canned_replies_only
            return ItemDetail(found, room, refusal, thread, canned, only)

    async def conversation(
        self, scope: Scope, item_id: int, address: str | None
    ) -> ConversationView:
        """The thread of the item's service with its sender (audited like viewing the item)."""
        async with self.sessions.begin() as session:
            item, message = await self._with_message(
                session, scope, item_id, "conversation", address
            )
            await Audit(session).record(
                "view_conversation",
                user_id=scope.user_id,
                service_id=item.service_id,
                item_id=item_id,
                address=address,
            )
            thread = await Conversations(session).thread(
                item.service_id, message.sender, recipient=message.recipient, now=datetime.now(UTC)
            )
            return ConversationView(item.id, item.service_id, message.sender, thread)

    async def claim(self, scope: Scope, item_id: int, address: str | None) -> None:
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.CLAIM, address)
            if not await ReviewQueue(session).claim(scope, item_id):
                # Worded as when the claim is seen before trying: which of the two a loser of
                # the race gets depends only on timing.
                raise Refused("someone else has claimed this item")
            await self._audit(session, scope, item, Act.CLAIM, address)

    async def release(self, scope: Scope, item_id: int, address: str | None) -> None:
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.RELEASE, address)
            if not await ReviewQueue(session).release(scope, item_id):
                raise Refused("you don't hold this item")
            await self._audit(session, scope, item, Act.RELEASE, address)

    async def preview(
        self,
        scope: Scope,
        item_id: int,
        action: str,
        captures: Mapping[str, str],
        address: str | None,
        reply: ReplyChoice | None = None,
    ) -> Preview:
        """Check a decision (and the reply to send with it) and say what it would do, from the
        same plan `decide` records (`plan_effects`), without writing anything (but a refusal's
        audit)."""
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.DECIDE, address)
            service = self._service(item)
            offered = labels.offered(service)
            if action not in offered:
                raise decisions.Invalid(CHOOSE_OFFERED, "decision")
            action, kept = decisions.decision(action, captures, references(service, action))
            message = await session.get(Message, item.message_id)
            assert message is not None
            text = await self._reply_for(session, service, message, reply)
            if text is not None:
                await self._reply_allowed(session, service, message)
            prompt, answers = await self._related_prompt(session, message, action)
            effects = plan_effects(
                service=service,
                message=message,
                action=action,
                captures=kept,
                rule=None,  # as `decide` records it: a caseworker's outcome has no rule's reply
                policy=self.policy,
                history=None,
                now=datetime.now(UTC),
                decided_by=str(scope.user_id),
                prompt=prompt,
            )
        told = labels.consequences(service.service.name, action, effects)
        refusal = decisions.undo_refusal(
            state=ReviewState.RESOLVED,
            decided_by=scope.user_id,
            decided_at=datetime.now(UTC),
            actor=scope.user_id,
            now=datetime.now(UTC),
            changed_register=told.changes_register,
            answered_prompt=answers,
        )
        name = service.service.name
        return Preview(action, kept, service.service.id, name, told, refusal, text)

    async def _related_prompt(
        self, session: AsyncSession, message: Message, action: str
    ) -> tuple[Prompt | None, bool]:
        """The prompt the message relates to, as a decision of `action` would leave it, and
        whether the decision would record an answer to it."""
        if message.prompt_id is None:
            return None, False
        stored = await Prompts(session).by_id(message.prompt_id)
        if stored is None or stored.prompt.state is PromptState.WITHDRAWN:
            return None, False
        change = decided_by_person(stored.prompt, RuleAction(action), message.received_at)
        return (stored.prompt, False) if change is None else (change.after, True)

    async def decide(
        self,
        scope: Scope,
        item_id: int,
        action: str,
        captures: Mapping[str, str],
        address: str | None,
        *,
        hold: bool = False,
        reply: ReplyChoice | None = None,
    ) -> None:
        """Resolve an item with an action: the same outcome, callback and opt-out path as a
        rule's automatic outcome, with the caseworker as `decided_by`. `hold`: its callback
        and reply wait out the undo window before they are handed over (the item page).
        `reply`: the caseworker's text sent with it, in the same transaction: a reply that is
        refused decides nothing."""
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.DECIDE, address)
            service = self._service(item)
            action, kept = decisions.decision(action, captures, references(service, action))
            message = await session.get(Message, item.message_id)
            assert message is not None
            text = await self._reply_for(session, service, message, reply)
            existing = await session.scalar(
                select(Outcome.id).where(Outcome.message_id == message.id)
            )
            if existing is not None:
                raise Refused("this message already has an outcome: reply or dismiss instead")
            if not await ReviewQueue(session).close(
                scope, item_id, decisions.NEXT_STATE[Act.DECIDE], action, None
            ):
                raise Refused("someone else decided this item a moment ago")
            await Messages(session).add_outcome(
                message, service.service.id, action, "caseworker", kept
            )
            prompt = await self._answer_prompt(session, message, action)
            ids = await record_outcome_effects(
                session,
                service=service,
                message=message,
                action=action,
                captures=kept,
                rule=None,
                policy=self.policy,
                decided_by=str(scope.user_id),
                prompt=prompt,
                hold_until=datetime.now(UTC) + UNDO_WINDOW if hold else None,
            )
            await self._audit(session, scope, item, Act.DECIDE, address, detail=action)
            if text is not None:
                ids += await self._send_reply(
                    session,
                    scope,
                    item,
                    service,
                    message,
                    text,
                    address,
                    hold_until=datetime.now(UTC) + UNDO_WINDOW if hold else None,
                )
        await self.outbox.hand_over(ids)

    async def next_open(self, scope: Scope, after_item: int) -> int | None:
        """The oldest open item in the caseworker's services other than `after_item`: where
        "Save and go to next item" goes."""
        async with self.sessions() as session:
            page = await ReviewQueue(session).page(
                scope, QueueFilter(states=(ReviewState.OPEN,)), size=2
            )
        return next((row.item.id for row in page.rows if row.item.id != after_item), None)

    async def own_decision(self, scope: Scope, item_id: int) -> ReviewItem | None:
        """The item, if it is in the caseworker's services and they decided it (for the next
        item's banner, which offers to undo it)."""
        async with self.sessions() as session:
            item = await ReviewQueue(session).get(scope, item_id)
        return item if item is not None and item.decided_by == scope.user_id else None

    async def undo(self, scope: Scope, item_id: int, address: str | None) -> str:
        """Take back the caseworker's own decision or dismissal within the undo window, while
        nothing it sends has been handed over: the item is theirs again, claimed, as before.
        Returns what was undone (an action, or "dismissed")."""
        now = datetime.now(UTC)
        async with self.sessions.begin() as session:
            item, message = await self._with_message(session, scope, item_id, "undo", address)
            decision = item.decision or ""
            answered = message.prompt_id is not None and bool(
                await session.scalar(
                    select(PromptRow.id).where(
                        PromptRow.id == message.prompt_id,
                        PromptRow.answer_message_id == message.id,
                    )
                )
            )
            reason = decisions.undo_refusal(
                state=item.state,
                decided_by=item.decided_by,
                decided_at=item.decided_at,
                actor=scope.user_id,
                now=now,
                changed_register=decision in ("opt_out", "opt_in"),
                answered_prompt=answered,
            )
            if reason is not None:
                raise Refused(f"this can't be undone: {reason}")
            # A dismissal holds only the reply sent with it ("No action needed" and a reply).
            if await Actions(session).withdraw_held(message.id) is False:
                raise Refused("this can't be undone: what it sends has already left")
            if item.state == ReviewState.RESOLVED:
                await session.execute(delete(Outcome).where(Outcome.message_id == message.id))
            reopened = await session.execute(
                update(ReviewItem)
                .where(ReviewItem.id == item.id, ReviewItem.state == item.state)
                .values(
                    state=ReviewState.CLAIMED,
                    claimed_by=scope.user_id,
                    claimed_at=now,
                    touched_at=now,
                    decided_by=None,
                    decided_at=None,
                    decision=None,
                    decision_note=None,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(reopened, "rowcount", 0) != 1:
                raise Refused("this can't be undone: the item changed a moment ago")
            await self._audit(session, scope, item, "undo", address, detail=decision)
        return decision

    async def _answer_prompt(
        self, session: AsyncSession, message: Message, action: str
    ) -> Prompt | None:
        """Answer the prompt the message relates to with a caseworker's decision, so a later
        reply is a repeat or a change of it; the prompt the outcome's callback names, if any."""
        if message.prompt_id is None:
            return None
        prompts = Prompts(session)
        stored = await prompts.by_id(message.prompt_id)
        if stored is None or stored.prompt.state is PromptState.WITHDRAWN:
            return None
        change = decided_by_person(stored.prompt, RuleAction(action), message.received_at)
        if change is None:
            return stored.prompt
        if not await prompts.record_answer(change, message.id):
            raise Refused("another reply answered this reminder a moment ago: look again")
        return change.after

    async def reply(
        self,
        scope: Scope,
        item_id: int,
        text: str,
        address: str | None,
        canned: str = "",
    ) -> None:
        """Text the sender: `text`, or the service's canned reply named `canned`, filled. The
        item must be held by this caseworker (or closed by them), and the number under the
        hourly cap (counted as the automatic replies' cap counts, under the same lock)."""
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.REPLY, address)
            service = self._service(item)
            message = await session.get(Message, item.message_id)
            assert message is not None
            chosen = await self._reply_for(session, service, message, ReplyChoice(canned, text))
            if chosen is None:
                raise decisions.Invalid(_NO_REPLY, "canned" if service.replies else "text")
            ids = await self._send_reply(session, scope, item, service, message, chosen, address)
        await self.outbox.hand_over(ids)

    async def dismiss(
        self,
        scope: Scope,
        item_id: int,
        reason: str,
        address: str | None,
        reply: ReplyChoice | None = None,
        *,
        hold: bool = False,
    ) -> None:
        """Close an item with no decision; `reply`: the caseworker's text sent with it, in the
        same transaction; `hold`: it waits out the undo window (the item page)."""
        reason = decisions.dismissal(reason)
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.DISMISS, address)
            message = await session.get(Message, item.message_id)
            assert message is not None
            text = None
            if reply is not None and (reply.canned or reply.text.strip()):
                text = await self._reply_for(session, self._service(item), message, reply)
            if not await ReviewQueue(session).close(
                scope, item_id, decisions.NEXT_STATE[Act.DISMISS], "dismissed", reason
            ):
                raise Refused("someone else decided this item a moment ago")
            # The reason is the caseworker's words, not the message: kept, but only here.
            await self._audit(session, scope, item, Act.DISMISS, address)
            ids: list[int] = []
            if text is not None:
                service = self._service(item)
                held = datetime.now(UTC) + UNDO_WINDOW if hold else None
                ids = await self._send_reply(
                    session, scope, item, service, message, text, address, hold_until=held
                )
        await self.outbox.hand_over(ids)

    async def note(self, scope: Scope, item_id: int, text: str, address: str | None) -> None:
        text = decisions.note_text(text)
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, Act.NOTE, address)
            await ReviewQueue(session).add_note(scope, item_id, text)
            await self._audit(session, scope, item, Act.NOTE, address)

    # -- shared steps ----------------------------------------------------------------------

    async def _canned(
        self, session: AsyncSession, service: ServiceRules, message: Message
    ) -> tuple[Filled, ...]:
        """The service's canned replies filled from what the item knows."""
        if not service.replies:
            return ()
        reference = None
        if message.prompt_id is not None:
            stored = await Prompts(session).by_id(message.prompt_id)
            reference = stored.prompt.reference if stored is not None else None
        received = message.received_at
        values = {
            "service": service.service.name,
            "reference": reference,
            "received": f"{received.day} {received:%B}",
        }
        return tuple(fill(reply.name, reply.text, values) for reply in service.replies)

    async def _reply_for(
        self,
        session: AsyncSession,
        service: ServiceRules,
        message: Message,
        reply: ReplyChoice | None,
    ) -> str | None:
        """The reply text the caseworker chose, checked; None when they chose none."""
        if reply is None:
            return None
        offered = {f.name: f.text for f in await self._canned(session, service, message)}
        only = service.service.canned_replies_only
        chosen = decisions.reply_choice(reply.canned, reply.text, offered, only, reply.fields[0])
        return None if chosen is None else decisions.reply_text(chosen, reply.fields[1])

    async def _reply_allowed(
        self, session: AsyncSession, service: ServiceRules, message: Message
    ) -> None:
        """Refused when the sender can't be texted now (a short code, opted out, the cap)."""
        service_id, now = service.service.id, datetime.now(UTC)
        history = await sender_history(session, service_id, message.sender, now)
        room = await self._reply_room(
            session, service_id, message.sender, history.replies_last_hour, now
        )
        reason = decisions.reply_refusal(
            phone.is_e164(message.sender), history.opted_out, room, now
        )
        if reason is not None:
            raise Refused(f"the reply can't be sent: {reason}")

    async def _send_reply(
        self,
        session: AsyncSession,
        scope: Scope,
        item: ReviewItem,
        service: ServiceRules,
        message: Message,
        text: str,
        address: str | None,
        hold_until: datetime | None = None,
    ) -> list[int]:
        """Record the caseworker's reply in the caller's transaction, refused (raising, so the
        whole transaction rolls back) when the sender can't be texted now."""
        await self._reply_allowed(session, service, message)
        service_id = service.service.id
        token = caseworker_token(scope.user_id, uuid.uuid4().hex)
        planned = caseworker_reply(service_id, message, text, token)
        ids = await record_action(session, service_id, message.id, planned, hold_until)
        await self._audit(session, scope, item, Act.REPLY, address)
        return ids

    async def _reply_room(
        self, session: AsyncSession, service_id: str, number: str, sent: int, now: datetime
    ) -> ReplyRoom:
        """The room under the cap; the times of the last hour's replies only when at it."""
        recent: Sequence[datetime] = ()
        if sent >= self.reply_cap_per_hour > 0:
            recent = await Actions(session).reply_times_since(
                service_id, number, now - REPLY_WINDOW
            )
        return decisions.reply_room(self.reply_cap_per_hour, sent, recent)

    async def _item(
        self, session: AsyncSession, scope: Scope, item_id: int, act: Act, address: str | None
    ) -> ReviewItem:
        """The item within the caseworker's services, when `act` is allowed in its state; its
        claim released first if it has lapsed, and touched when its holder works on it."""
        await self.release_untouched(session, scope, item_id)
        item = await ReviewQueue(session).get(scope, item_id)
        if item is None:
            await self._denied(session, scope, item_id, act, address)
        assert item is not None
        decisions.check(act, item.state, item.claimed_by, scope.user_id)
        if item.claimed_by == scope.user_id and act in (Act.REPLY, Act.NOTE, Act.DECIDE):
            await ReviewQueue(session).touch(item_id, scope.user_id, datetime.now(UTC))
        return item

    async def release_untouched(
        self, session: AsyncSession, scope: Scope, item_id: int | None = None
    ) -> list[int]:
        """Release the scope's lapsed claims (or the item's): looked for whenever the queue is
        shown or an item acted on, so no claim outlives the setting when anyone looks."""
        now = datetime.now(UTC)
        before = now - self.claim_release_after
        return await ReviewQueue(session).release_untouched(scope, before, now, item_id)

    async def _with_message(
        self, session: AsyncSession, scope: Scope, item_id: int, what: str, address: str | None
    ) -> tuple[ReviewItem, Message]:
        """The item within the scope and its message; NotFound (audited) for any other."""
        item = await ReviewQueue(session).get(scope, item_id)
        if item is None:
            await self._denied(session, scope, item_id, what, address)
        assert item is not None
        message = await session.get(Message, item.message_id)
        assert message is not None
        return item, message

    async def deny_service_page(
        self, kind: Denied, scope: Scope, service_id: str, address: str | None, detail: str
    ) -> None:
        """Audit and log a refusal of a service's page (team, opt-outs, rules) to someone who
        may not see it; the caller then answers 404, as if the service did not exist."""
        async with self.sessions.begin() as session:
            await Audit(session).record(
                "denied",
                user_id=scope.user_id,
                service_id=service_id[:64],
                address=address,
                detail=detail,
            )
        self.events.access_denied(
            kind, user_id=scope.user_id, address=address, service_id=service_id, detail=detail
        )

    async def _denied(
        self, session: AsyncSession, scope: Scope, item_id: int, what: str, address: str | None
    ) -> None:
        # Audited in its own transaction: the caller's is rolled back by the NotFound. Rolled
        # back first, here: on SQLite its write (a lapsed claim released, even of no row) holds
        # the database's one write lock, and the audit's transaction would wait on it until
        # "database is locked".
        owner = await ReviewQueue(session).service_of(item_id)
        await session.rollback()
        async with self.sessions.begin() as audit_session:
            await Audit(audit_session).record(
                "denied",
                user_id=scope.user_id,
                service_id=owner,
                item_id=item_id,
                address=address,
                detail=what,
            )
        self.events.access_denied(
            Denied.ITEM,
            user_id=scope.user_id,
            address=address,
            service_id=owner,
            item_id=item_id,
            detail=str(what),
        )
        raise NotFound

    def _service(self, item: ReviewItem) -> ServiceRules:
        if item.service_id is None:
            raise Refused("no service owns the number this was sent to: dismiss it")
        found = self.rules().service(item.service_id)
        if found is None:
            raise Refused(f"service {item.service_id} has no rule file loaded")
        return found

    async def _audit(
        self,
        session: AsyncSession,
        scope: Scope,
        item: ReviewItem,
        action: str,
        address: str | None,
        detail: str | None = None,
    ) -> None:
        await Audit(session).record(
            action,
            user_id=scope.user_id,
            service_id=item.service_id,
            item_id=item.id,
            address=address,
            detail=detail,
        )
