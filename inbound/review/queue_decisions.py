"""Assigning, lapsed claims and acting on several items at once: the decisions, pure.

`review/assignment.py` loads and writes; what is allowed, when a claim has lapsed and what the
summary banner says are decided here, from plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from inbound.states import ReviewState

# The default of INBOUND_CLAIM_RELEASE_AFTER.
CLAIM_RELEASE_AFTER = timedelta(minutes=15)
# More than a page of the queue can't be ticked; a larger post is not from the page.
MAX_SELECTED = 50


class Bulk(StrEnum):
    """What may be done to several ticked items at once."""

    DISMISS = "dismiss"
    RELEASE = "release"
    ASSIGN = "assign"


# The past tense the summary banner uses.
DONE_WORDS: Mapping[Bulk, str] = {
    Bulk.DISMISS: "dismissed",
    Bulk.RELEASE: "released",
    Bulk.ASSIGN: "assigned",
}


class Skip(StrEnum):
    """Why an item was not changed; the banner's words are in SKIP_WORDS."""

    NOT_FOUND = "not_found"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    HELD = "held"
    NOT_HELD = "not_held"
    NOT_MEMBER = "not_member"
    ALREADY = "already"
    NO_SERVICE = "no_service"
    CHANGED = "changed"


SKIP_CODES = frozenset(skip.value for skip in Skip)
SKIP_WORDS: Mapping[Skip, str] = {
    Skip.NOT_FOUND: "was not found in your services",
    Skip.RESOLVED: "was already resolved",
    Skip.DISMISSED: "was already dismissed",
    Skip.HELD: "is held by someone else",
    Skip.NOT_HELD: "is not held by you",
    Skip.NOT_MEMBER: "belongs to a service the colleague is not a member of",
    Skip.ALREADY: "was already held by that colleague",
    Skip.NO_SERVICE: "belongs to no service",
    Skip.CHANGED: "changed a moment ago",
}


def lapsed(touched_at: datetime | None, now: datetime, after: timedelta) -> bool:
    """True when a claim last touched at `touched_at` has gone untouched for `after`."""
    return touched_at is not None and now - touched_at >= after


def released_words(after: timedelta) -> str:
    """The queue's tag on an item released for not being touched."""
    minutes = max(1, round(after.total_seconds() / 60))
    return f"released: not touched for {minutes} min"


def closed_skip(state: str) -> Skip | None:
    """Why a closed item can't be changed; None for an open or claimed one."""
    if state == ReviewState.RESOLVED:
        return Skip.RESOLVED
    if state == ReviewState.DISMISSED:
        return Skip.DISMISSED
    return None


def assign_refusal(
    *, state: str, service_id: str | None, holder: int | None, assignee: int, members: set[str]
) -> Skip | None:
    """Why an item can't be assigned to `assignee`, a user who is a member of `members`
    (service ids); None when it can: open, or claimed by anyone else, in one of their services."""
    closed = closed_skip(state)
    if closed is not None:
        return closed
    if service_id is None:
        return Skip.NO_SERVICE
    if service_id not in members:
        return Skip.NOT_MEMBER
    if state == ReviewState.CLAIMED and holder == assignee:
        return Skip.ALREADY
    return None


def bulk_skip(act: Bulk, state: str, holder: int | None, actor: int) -> Skip | None:
    """Why `actor` may not dismiss or release an item, as the single-item actions check it."""
    closed = closed_skip(state)
    if closed is not None:
        return closed
    held_by_actor = state == ReviewState.CLAIMED and holder == actor
    if act is Bulk.RELEASE:
        return None if held_by_actor else Skip.NOT_HELD
    if state == ReviewState.CLAIMED and not held_by_actor:
        return Skip.HELD
    return None


@dataclass(frozen=True)
class Summary:
    """The result of a bulk action: how many changed, and which didn't and why."""

    act: Bulk
    changed: int
    skipped: Sequence[tuple[int, Skip]]

    def words(self) -> str:
        """ "3 dismissed; 1 not changed: item #12 was already resolved"."""
        said = f"{self.changed} {DONE_WORDS[self.act]}"
        if not self.skipped:
            return said
        why = ", ".join(f"item #{item} {SKIP_WORDS[skip]}" for item, skip in self.skipped)
        return f"{said}; {len(self.skipped)} not changed: {why}"

    def query(self) -> str:
        """The summary as a query string for the queue's banner: codes, never free text."""
        skipped = ",".join(f"{item}:{skip.value}" for item, skip in self.skipped)
        return f"bulk={self.act.value}&changed={self.changed}&skipped={skipped}"


def summary_from(query: Mapping[str, str]) -> Summary | None:
    """The summary a redirect's query string names; None when it names none (or is not one
    the page wrote: an unknown act or reason, a count that isn't a small number)."""
    try:
        act = Bulk(query.get("bulk", ""))
    except ValueError:
        return None
    changed = query.get("changed", "")
    if not changed.isdigit() or len(changed) > 3:
        return None
    skipped: list[tuple[int, Skip]] = []
    for part in filter(None, query.get("skipped", "").split(",")[:MAX_SELECTED]):
        item, _, code = part.partition(":")
        if not item.isdigit() or len(item) > 18 or code not in SKIP_CODES:
            return None
        skipped.append((int(item), Skip(code)))
    return Summary(act, int(changed), skipped)


def selected(values: Sequence[str]) -> list[int]:
    """The ticked item ids, each once in the order ticked; ValueError for one that isn't an id
    or more than a page of them."""
    ids = list(dict.fromkeys(values))
    if len(ids) > MAX_SELECTED:
        raise ValueError(f"more than {MAX_SELECTED} items")
    if not all(value.isdigit() and 0 < len(value) <= 18 for value in ids):
        raise ValueError("an item that is not a number")
    return [int(value) for value in ids]
