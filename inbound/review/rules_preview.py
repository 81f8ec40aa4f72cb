"""What the rules API and the rules pages share about previewing a draft on the service's
stored messages: how many days back (`?days=`) and the replay's counts under their names."""

from __future__ import annotations

from typing import TypeVar

from inbound.managed_rules import MAX_PREVIEW_DAYS, Invalid
from inbound.rules.replay import Past, ReplaySummary

PREVIEW_DAYS = 7  # without ?days=, as `inbound rules replay`
MAX_CHANGES = 1_000  # changes listed in one answer; the counts cover them all
P = TypeVar("P", bound=Past)


def preview_days(raw: str | None) -> float:
    """The days of `?days=` (PREVIEW_DAYS when absent); `Invalid` for anything but a number
    of days from 1 to MAX_PREVIEW_DAYS."""
    try:
        days = float(PREVIEW_DAYS if raw is None else raw)
    except ValueError:
        days = -1.0
    if not 0 < days <= MAX_PREVIEW_DAYS:  # False for nan, as for inf
        raise Invalid(f"days: a number of days from 1 to {MAX_PREVIEW_DAYS}")
    return days


def preview_counts(summary: ReplaySummary[P]) -> dict[str, int]:
    """The replay's counts by name; caseworkers' decisions are counted apart from automatic
    outcomes."""
    return {
        "replayed": summary.replayed,
        "purged": summary.purged,
        "changed": len(summary.changes),
        "automatic_before": summary.automatic_before,
        "automatic_after": summary.automatic_after,
        "review_now_handled": summary.newly_automatic,
        "handled_now_review": summary.newly_review,
        "different_action": summary.different_action,
        "caseworker_decided": summary.caseworker_decided,
        "caseworker_dismissed": summary.caseworker_dismissed,
        "as_caseworkers": summary.as_caseworkers,
        "unlike_caseworkers": summary.unlike_caseworkers,
    }
