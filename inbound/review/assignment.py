"""Use cases of the queue's own actions: assign items to a colleague, and dismiss, release or
assign several ticked items at once, each checked as the single-item action checks it.

Each item is its own transaction: one that can't be changed is named in the summary and the
others still change. An item outside the caseworker's services is audited as denied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from inbound.review import decisions
from inbound.review.decisions import Refused
from inbound.review.desk import Desk, NotFound
from inbound.review.queue_decisions import (
    Bulk,
    Skip,
    Summary,
    assign_refusal,
    bulk_skip,
    released_words,
)
from inbound.store.review import ReviewQueue
from inbound.store.users import Audit, Scope


class NotColleague(Refused):
    """The person to assign to is not an active member of any of the caseworker's services."""


@dataclass(frozen=True)
class Colleague:
    """Someone items may be assigned to, and the services (of the caseworker's) they are in."""

    user_id: int
    email: str
    services: frozenset[str]


@dataclass(frozen=True)
class QueueTools:
    """What the queue page needs for its own actions."""

    colleagues: Sequence[Colleague]
    released_words: str


async def colleagues(desk: Desk, scope: Scope) -> list[Colleague]:
    """The active members of the caseworker's services, by email."""
    async with desk.sessions() as session:
        rows = await ReviewQueue(session).members(scope.services)
    found: dict[int, tuple[str, set[str]]] = {}
    for user_id, email, service in rows:
        found.setdefault(user_id, (email, set()))[1].add(service)
    return [Colleague(uid, email, frozenset(s)) for uid, (email, s) in found.items()]


async def queue_tools(desk: Desk, scope: Scope) -> QueueTools:
    return QueueTools(await colleagues(desk, scope), released_words(desk.claim_release_after))


async def _colleague(desk: Desk, scope: Scope, email: str) -> Colleague:
    wanted = email.strip().lower()
    for colleague in await colleagues(desk, scope):
        if colleague.email.lower() == wanted:
            return colleague
    raise NotColleague(
        "choose a colleague from the list: only active caseworkers and service admins of "
        "your services can be assigned items"
    )


async def assign(
    desk: Desk, scope: Scope, item_id: int, email: str, address: str | None
) -> Skip | None:
    """Assign one item to the colleague with `email`; why not, or None once assigned.
    NotColleague when `email` is no one's in the caseworker's services."""
    colleague = await _colleague(desk, scope, email)
    return await _assign(desk, scope, item_id, colleague, address)


async def _assign(
    desk: Desk, scope: Scope, item_id: int, colleague: Colleague, address: str | None
) -> Skip | None:
    async with desk.sessions.begin() as session:
        await desk.release_untouched(session, scope, item_id)
        queue = ReviewQueue(session)
        item = await queue.get(scope, item_id)
        if item is None:
            return await _denied(desk, scope, item_id, "assign", address)
        skip = assign_refusal(
            state=item.state,
            service_id=item.service_id,
            holder=item.claimed_by,
            assignee=colleague.user_id,
            members=set(colleague.services),
        )
        if skip is not None:
            return skip
        if not await queue.assign(scope, item_id, colleague.user_id, item.state, item.claimed_by):
            return Skip.CHANGED
        await Audit(session).record(
            "assign",
            user_id=scope.user_id,
            service_id=item.service_id,
            item_id=item_id,
            subject=colleague.email,
            address=address,
            detail=f"to user {colleague.user_id}",
        )
    return None


async def _denied(desk: Desk, scope: Scope, item_id: int, what: str, address: str | None) -> Skip:
    """Audit an item outside the caseworker's services (as the single actions do)."""
    async with desk.sessions() as session:
        with contextlib.suppress(NotFound):  # _denied audits, then raises for a 404
            await desk._denied(session, scope, item_id, what, address)
    return Skip.NOT_FOUND


async def bulk(
    desk: Desk,
    scope: Scope,
    act: Bulk,
    ids: Sequence[int],
    address: str | None,
    *,
    reason: str = "",
    email: str = "",
) -> Summary:
    """Dismiss (with one reason), release or assign each ticked item. Invalid for a missing
    reason, NotColleague for someone not in the caseworker's services, before any item."""
    if act is Bulk.DISMISS:
        reason = decisions.dismissal(reason)
    colleague = await _colleague(desk, scope, email) if act is Bulk.ASSIGN else None
    changed, skipped = 0, []
    for item_id in ids:
        if colleague is not None:
            skip = await _assign(desk, scope, item_id, colleague, address)
        else:
            skip = await _dismiss_or_release(desk, scope, act, item_id, reason, address)
        if skip is None:
            changed += 1
        else:
            skipped.append((item_id, skip))
    return Summary(act, changed, skipped)


async def _dismiss_or_release(
    desk: Desk, scope: Scope, act: Bulk, item_id: int, reason: str, address: str | None
) -> Skip | None:
    """The single-item action itself, after the same check worded for the summary."""
    async with desk.sessions.begin() as session:
        await desk.release_untouched(session, scope, item_id)
        item = await ReviewQueue(session).get(scope, item_id)
    if item is None:
        return await _denied(desk, scope, item_id, act.value, address)
    skip = bulk_skip(act, item.state, item.claimed_by, scope.user_id)
    if skip is not None:
        return skip
    try:
        if act is Bulk.DISMISS:
            await desk.dismiss(scope, item_id, reason, address)
        else:
            await desk.release(scope, item_id, address)
    except NotFound:
        return Skip.NOT_FOUND
    except Refused:
        return Skip.CHANGED
    return None
