"""How many items of the queue there are for each reason, in the words caseworkers read. Pure.

The database counts the items per stored reason (few distinct values, however many items);
this groups those counts by `reasons.reason_group`, and finds the stored reasons a group stands
for, so the queue's reason filter selects exactly the items its count counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inbound.review.reasons import reason_group


@dataclass(frozen=True)
class ReasonCount:
    """A reason group: its words (also the queue's `reason=` value), its items, and the stored
    reasons counted under it."""

    words: str
    count: int
    stored: tuple[str, ...]


def count_by_reason(counted: Iterable[tuple[str, int]]) -> tuple[ReasonCount, ...]:
    """(stored reason, items) pairs grouped by their words: the most items first, then by words."""
    groups: dict[str, tuple[int, list[str]]] = {}
    for stored, count in counted:
        if count <= 0:
            continue
        words = reason_group(stored)
        total, members = groups.get(words, (0, []))
        groups[words] = (total + count, [*members, stored])
    found = [
        ReasonCount(words, total, tuple(sorted(members)))
        for words, (total, members) in groups.items()
    ]
    return tuple(sorted(found, key=lambda group: (-group.count, group.words)))


def group_named(groups: Iterable[ReasonCount], words: str) -> ReasonCount | None:
    """The group whose words are `words` (as a `reason=` link gives them); None for words no
    group has, such as a stored reason's own text from an older link."""
    return next((group for group in groups if group.words == words), None)
