"""How far a walk back through Notify's received texts goes, and which of them are missing.

Notify's `GET /v2/received-text-messages` lists a service's received texts newest first, 250 a
page; `older_than=<id>` gives the page after that message, and an empty page is the end
(notifications-api `app/v2/inbound_sms/get_inbound_sms.py`: `links.next` names the last id of
every non-empty page). Notify keeps them 7 days by default (docs.notifications.service.gov.uk,
"Get received text messages"). Pure: a page in, what to publish and where to go next out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# How long Notify keeps received texts unless a service asked for longer: no walk goes further.
NOTIFY_KEEPS = timedelta(days=7)

# A poll re-reads this much before the start of the previous complete poll, and only a known
# text older than that ends it: Notify stamps `created_at` when its transaction writes the row,
# so a text may be listed a little after a newer one, and its clock and ours may differ.
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Kept:
    """One received text in Notify's list: its id and when Notify received it (Notify's clock)."""

    id: str
    created_at: datetime


@dataclass(frozen=True)
class Walk:
    """How far to go back.

    `since`: no text received before it is read (Notify's retention, or `backfill --since`).
    `until_known`: a poll ends at a text inbound already has; a backfill walks on to `since`.
    `covered_to`: when the previous complete poll began (every text Notify had then was seen).
    Known texts newer than it (less OVERLAP) don't end a poll: callbacks may have come back
    after an outage while the texts of the outage are still missing below them.
    """

    since: datetime
    until_known: bool
    covered_to: datetime | None = None

    def ends_at(self, text: Kept) -> bool:
        """True when this text, known to inbound, ends the walk."""
        if not self.until_known:
            return False
        return self.covered_to is None or text.created_at <= self.covered_to - OVERLAP


class Ended(StrEnum):
    """Why a walk ended."""

    KNOWN = "known"  # met a text inbound already has, from before the last complete poll
    SINCE = "since"  # reached texts older than `since`
    END = "end"  # Notify has nothing older


@dataclass(frozen=True)
class Step:
    """What one page means: the ids to publish (newest first), how many of the page's texts
    were inside the walk (`read`), and the cursor for the next page (`older_than`), or why the
    walk ended."""

    missing: tuple[str, ...]
    read: int
    older_than: str | None
    ended: Ended | None

    def __post_init__(self) -> None:
        if (self.older_than is None) == (self.ended is None):
            raise ValueError("a step either goes on (older_than) or ends (ended), not both")


def step(page: Sequence[Kept], known: Collection[str], walk: Walk) -> Step:
    """Read one page (newest first): what is missing from inbound, and whether to go on."""
    if not page:
        return Step((), 0, None, Ended.END)
    missing: list[str] = []
    for read, text in enumerate(page):
        if text.created_at < walk.since:
            return Step(tuple(missing), read, None, Ended.SINCE)
        if text.id in known:
            if walk.ends_at(text):
                return Step(tuple(missing), read + 1, None, Ended.KNOWN)
            continue
        if text.id not in missing:  # a page repeating a text (never seen; cheap to allow)
            missing.append(text.id)
    return Step(tuple(missing), len(page), page[-1].id, None)


_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


class SinceInvalid(ValueError):
    """A `--since` that isn't a number of minutes, hours or days within Notify's 7 days."""


def parse_since(text: str) -> timedelta:
    """`30m`, `12h` or `7d` as a timedelta; SinceInvalid when malformed or beyond 7 days."""
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:])
    if unit is None or not value[:-1].isdigit() or int(value[:-1]) == 0:
        raise SinceInvalid(f"{text!r}: give a number and m, h or d, e.g. 30m, 12h or 7d")
    span = int(value[:-1]) * unit
    if span > NOTIFY_KEEPS:
        raise SinceInvalid(
            f"{text!r}: Notify keeps received texts 7 days, so --since goes back at most 7d"
        )
    return span
