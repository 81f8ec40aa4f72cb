"""Use cases of the "could not be delivered" page: list the callbacks and replies that gave up,
and send one again. Each is one transaction, audited, and scoped like the desk's: another
service's action is `NotFound`, and the attempt is audited as `denied`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from inbound.actions.outbox import sender_history
from inbound.review.coverage_check import services_without_caseworker
from inbound.review.decisions import Refused
from inbound.review.desk import Desk, NotFound
from inbound.review.security_events import Denied
from inbound.review.undelivered_words import retry_refusal
from inbound.states import ActionKind
from inbound.store.undelivered import Cursor, Undelivered, UndeliveredActions
from inbound.store.users import Audit, Scope


@dataclass(frozen=True)
class UndeliveredView:
    """What the page shows: the actions, and for a platform admin the services nobody works."""

    actions: list[Undelivered]
    without_caseworker: tuple[str, ...]
    older: Cursor | None = None  # the next page's cursor (older ones), if any
    newer: Cursor | None = None  # the previous page's cursor (newer ones), if any


async def undelivered(
    desk: Desk,
    scope: Scope,
    address: str | None,
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
) -> UndeliveredView:
    """A page of the user's services' callbacks and replies that gave up, newest first, from
    a cursor when given (audited)."""
    async with desk.sessions.begin() as session:
        found = await UndeliveredActions(session).listed(
            scope.services, older_than=older_than, newer_than=newer_than
        )
        await Audit(session).record(
            "view_undelivered",
            user_id=scope.user_id,
            address=address,
            detail=f"{len(found.actions)}",
        )
    return UndeliveredView(found.actions, await uncovered(desk, scope), found.older, found.newer)


async def uncovered(desk: Desk, scope: Scope) -> tuple[str, ...]:
    """For a platform admin, the services whose rules load but nobody can work; else ()."""
    if not scope.unassigned:
        return ()
    return await services_without_caseworker(desk.sessions, desk.rules().book.services)


async def try_again(desk: Desk, scope: Scope, action_id: int, address: str | None) -> Undelivered:
    """Put a callback or reply that gave up back to pending and hand it over for delivery;
    Refused (with why) when it can't be, NotFound outside the user's services."""
    async with desk.sessions.begin() as session:
        actions = UndeliveredActions(session)
        found = await actions.get(action_id)
        if found is None or not scope.can_see(found.service_id):
            await _denied(desk, scope, action_id, found, address)
        assert found is not None
        opted_out, sent = False, 0
        if found.kind == ActionKind.REPLY:
            # Counted as a caseworker's reply is, under the same per-number lock.
            history = await sender_history(
                session, found.service_id, found.number, datetime.now(UTC)
            )
            opted_out, sent = history.opted_out, history.replies_last_hour
        refusal = retry_refusal(
            state=found.state,
            kind=found.kind,
            has_payload=found.has_payload,
            opted_out=opted_out,
            allowed=found.kind != ActionKind.CALLBACK or desk.policy.send_callbacks,
            sent_last_hour=sent,
            cap=desk.reply_cap_per_hour,
        )
        if refusal is not None:
            raise Refused(refusal)
        if not await actions.try_again(action_id):
            raise Refused("someone else sent it again a moment ago")
        # Who, when (the row's time), which; the attempts and error it had, as the row loses them.
        await Audit(session).record(
            "retry_action",
            user_id=scope.user_id,
            service_id=found.service_id,
            item_id=found.item_id,
            address=address,
            detail=f"{found.kind} #{found.id} after {found.attempts} attempts: {found.last_error}",
        )
    await desk.outbox.hand_over([action_id])
    return found


async def _denied(
    desk: Desk, scope: Scope, action_id: int, found: Undelivered | None, address: str | None
) -> None:
    # Audited in its own transaction: the caller's is rolled back by the NotFound.
    owner = found.service_id if found is not None else None
    async with desk.sessions.begin() as session:
        await Audit(session).record(
            "denied",
            user_id=scope.user_id,
            service_id=owner,
            address=address,
            detail=f"retry action #{action_id}",
        )
    desk.events.access_denied(
        Denied.ACTION,
        user_id=scope.user_id,
        address=address,
        service_id=owner,
        detail=f"retry action #{action_id}",
    )
    raise NotFound
