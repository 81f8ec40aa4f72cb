"""Deciding stored messages again with a new rule file, and what would change. Pure.

`inbound rules replay` reads the history from the database and prints the summary; this module
only compares, so it is tested from tables of past messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from inbound.rules.match import Decision, Matcher


class Past(Protocol):
    """What a replay reads of a stored message (store.history.PastMessage has it)."""

    @property
    def text(self) -> str | None:
        """The reply; None once purged after the service's retention."""

    @property
    def action(self) -> str | None:
        """The automatic outcome's action; None when the message went to review."""


P = TypeVar("P", bound=Past)


@dataclass(frozen=True)
class Change(Generic[P]):
    """One stored message the new rules would treat differently."""

    message: P
    before: str  # an action, or "review"
    after: Decision


@dataclass
class ReplaySummary(Generic[P]):
    """Counts for a replay, and the changed messages in the order they arrived."""

    replayed: int = 0
    purged: int = 0
    automatic_before: int = 0
    automatic_after: int = 0
    newly_automatic: int = 0  # review items the new rules would have handled
    newly_review: int = 0  # automatic outcomes the new rules would send to a person
    different_action: int = 0  # automatic outcomes with another action
    changes: list[Change[P]] = field(default_factory=list)


def replay(matcher: Matcher, history: Iterable[P]) -> ReplaySummary[P]:
    """Decide every stored message again and compare with what happened."""
    summary: ReplaySummary[P] = ReplaySummary()
    for past in history:
        if past.text is None:
            summary.purged += 1
            continue
        summary.replayed += 1
        decision = matcher.decide(past.text)
        was = past.action
        now = str(decision.action) if decision.automatic else None
        summary.automatic_before += was is not None
        summary.automatic_after += now is not None
        if was == now:
            continue
        if was is None:
            summary.newly_automatic += 1
        elif now is None:
            summary.newly_review += 1
        else:
            summary.different_action += 1
        summary.changes.append(Change(past, was or "review", decision))
    return summary
