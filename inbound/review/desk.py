"""Use cases of the review queue: claim, release, decide, reply, dismiss, note.

The web pages and the JSON API both call these; each is one transaction, audited, and scoped:
an item outside the caseworker's services is `NotFound`, and the attempt is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound import phone
from inbound.actions.plan import CALLBACK_ACTIONS, EffectPolicy, record_effects
from inbound.actions.queue import ActionQueue
from inbound.broker.publisher import PublishFailed
from inbound.logs import get_logger
from inbound.rules.compiled import RulesInForce
from inbound.rules.model import ServiceRules
from inbound.store.actions import Actions, OptOuts
from inbound.store.messages import Messages
from inbound.store.models import Message, Outcome, ReviewItem
from inbound.store.review import ItemView, QueueFilter, QueuePage, ReviewQueue
from inbound.store.users import Audit, Scope

log = get_logger("review")

DECISIONS = tuple(sorted(CALLBACK_ACTIONS))
CAPTURES = ("details", "reference", "rating")
MAX_TEXT = 1000


class NotFound(Exception):
    """No such item within the caseworker's services (whether or not it exists elsewhere)."""


class Refused(Exception):
    """The action can't be done in the item's current state; the message says why."""


@dataclass
class Desk:
    """What the use cases need: the database, the rules in force, the actions queue."""

    sessions: async_sessionmaker[AsyncSession]
    rules: RulesInForce
    actions: ActionQueue | None
    policy: EffectPolicy

    async def queue(self, scope: Scope, wanted: QueueFilter, address: str | None) -> QueuePage:
        async with self.sessions.begin() as session:
            if wanted.service is not None and not scope.can_see(wanted.service):
                await Audit(session).record(
                    "denied",
                    user_id=scope.user_id,
                    service_id=wanted.service,
                    address=address,
                    detail="queue of another service",
                )
                raise NotFound
            page = await ReviewQueue(session).page(scope, wanted)
            await Audit(session).record(
                "view_queue", user_id=scope.user_id, service_id=wanted.service, address=address
            )
            return page

    async def view(self, scope: Scope, item_id: int, address: str | None) -> ItemView:
        async with self.sessions.begin() as session:
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
            return found

    async def claim(self, scope: Scope, item_id: int, address: str | None) -> None:
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, "claim", address)
            if not await ReviewQueue(session).claim(scope, item_id):
                raise Refused("someone else has claimed this item, or it is closed")
            await self._audit(session, scope, item, "claim", address)

    async def release(self, scope: Scope, item_id: int, address: str | None) -> None:
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, "release", address)
            if not await ReviewQueue(session).release(scope, item_id):
                raise Refused("you don't hold this item")
            await self._audit(session, scope, item, "release", address)

    async def decide(
        self,
        scope: Scope,
        item_id: int,
        action: str,
        captures: Mapping[str, str],
        address: str | None,
    ) -> None:
        """Resolve an item with an action: the same outcome, callback and opt-out path as a
        rule's automatic outcome, with the caseworker as `decided_by`."""
        if action not in DECISIONS:
            raise Refused(f"unknown decision {action!r}")
        kept = {k: v.strip()[:MAX_TEXT] for k, v in captures.items() if k in CAPTURES and v.strip()}
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, "decide", address)
            service = self._service(item)
            message = await session.get(Message, item.message_id)
            assert message is not None
            existing = await session.scalar(
                select(Outcome.id).where(Outcome.message_id == message.id)
            )
            if existing is not None:
                raise Refused("this message already has an outcome: reply or dismiss instead")
            if not await ReviewQueue(session).close(scope, item_id, "resolved", action, None):
                raise Refused("someone else holds this item, or it is closed")
            await Messages(session).add_outcome(
                message, service.service.id, action, "caseworker", kept
            )
            ids = await record_effects(
                session,
                service=service,
                message=message,
                action=action,
                captures=kept,
                rule=None,
                policy=self.policy,
                decided_by=str(scope.user_id),
            )
            await self._audit(session, scope, item, "decide", address, detail=action)
        await self._hand_over(ids)

    async def reply(self, scope: Scope, item_id: int, text: str, address: str | None) -> None:
        """Text the sender; the item must be held by this caseworker."""
        text = text.strip()
        if not text or len(text) > 918:  # six SMS segments
            raise Refused("write a reply of 1 to 918 characters")
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, "reply", address)
            if item.state != "claimed" or item.claimed_by != scope.user_id:
                raise Refused("claim the item before replying")
            service = self._service(item)
            message = await session.get(Message, item.message_id)
            assert message is not None
            if not phone.is_e164(message.sender):
                raise Refused("this sender can't receive texts (a short code or a name)")
            if await OptOuts(session).is_opted_out(service.service.id, message.sender):
                raise Refused("this number has opted out of texts from the service")
            row = await Actions(session).add(
                message_id=message.id,
                service_id=service.service.id,
                kind="reply",
                key=f"{service.service.id}:{message.id}:reply:caseworker:{uuid.uuid4().hex}",
                payload={"text": text},
                recipient=message.sender,
            )
            await self._audit(session, scope, item, "reply", address)
        await self._hand_over([row.id])

    async def dismiss(self, scope: Scope, item_id: int, reason: str, address: str | None) -> None:
        reason = reason.strip()
        if not reason:
            raise Refused("say why you are dismissing it")
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, "dismiss", address)
            if not await ReviewQueue(session).close(
                scope, item_id, "dismissed", "dismissed", reason
            ):
                raise Refused("someone else holds this item, or it is closed")
            # The reason is the caseworker's words, not the message: kept, but only here.
            await self._audit(session, scope, item, "dismiss", address)

    async def note(self, scope: Scope, item_id: int, text: str, address: str | None) -> None:
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise Refused(f"write a note of 1 to {MAX_TEXT} characters")
        async with self.sessions.begin() as session:
            item = await self._item(session, scope, item_id, "note", address)
            await ReviewQueue(session).add_note(scope, item_id, text)
            await self._audit(session, scope, item, "note", address)

    # -- shared steps ----------------------------------------------------------------------

    async def _item(
        self, session: AsyncSession, scope: Scope, item_id: int, what: str, address: str | None
    ) -> ReviewItem:
        item = await ReviewQueue(session).get(scope, item_id)
        if item is None:
            await self._denied(session, scope, item_id, what, address)
        assert item is not None
        return item

    async def _denied(
        self, session: AsyncSession, scope: Scope, item_id: int, what: str, address: str | None
    ) -> None:
        # Audited in its own transaction: the caller's is rolled back by the NotFound.
        owner = await ReviewQueue(session).service_of(item_id)
        async with self.sessions.begin() as audit_session:
            await Audit(audit_session).record(
                "denied",
                user_id=scope.user_id,
                service_id=owner,
                item_id=item_id,
                address=address,
                detail=what,
            )
        raise NotFound

    def _service(self, item: ReviewItem) -> ServiceRules:
        if item.service_id is None:
            raise Refused("no service owns the number this was sent to: dismiss it")
        found = self.rules().book.services.get(item.service_id)
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

    async def _hand_over(self, ids: list[int]) -> None:
        # Committed already (the outbox): if this fails the action worker's sweep publishes them.
        if self.actions is None or not ids:
            return
        try:
            await self.actions.due(ids)
            async with self.sessions.begin() as session:
                await Actions(session).mark_published(ids)
        except (PublishFailed, SQLAlchemyError, OSError) as error:
            log.warning("actions_left_for_sweep", count=len(ids), error=type(error).__name__)
