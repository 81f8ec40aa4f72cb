"""The query and path parameters of the review pages and the API, checked. Pure.

Anything a browser or a client can put in a URL reaches here first: a value that can't be what
it claims is a `BadParameter` (a 400 naming the parameter), never a 500 from a number too big
for the database or a date past the year 9999.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from inbound.review.decisions import control_character

# review_items.id is a 32-bit integer on PostgreSQL: a larger id is no item, not an overflow.
MAX_ITEM_ID = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The last microsecond Python's datetime can hold, counted from the epoch.
_MAX_STAMP = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
)
_CURSOR = re.compile(r"[0-9]{1,18}_[0-9]{1,10}")
_ITEM_ID = re.compile(r"[0-9]{1,10}")
_SERVICE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# The same shapes as the OpenAPI document states them.
CURSOR_PATTERN = f"^{_CURSOR.pattern}$"
SERVICE_PATTERN = f"^{_SERVICE_ID.pattern}$"
MAX_SEARCH = 200


class BadParameter(ValueError):
    """A parameter that can't be what it claims to be; `name` says which."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name
        self.why = why


def cursor(after: tuple[datetime, int]) -> str:
    """The `after=` value that continues the queue past a row: microseconds, `_`, the id."""
    stamp = (after[0] - _EPOCH) // timedelta(microseconds=1)
    return f"{stamp}_{after[1]}"


def parse_cursor(raw: str, name: str = "after") -> tuple[datetime, int] | None:
    """The row a queue page continues after (or, as `before`, ends before); None for the first
    page (an empty value)."""
    if raw == "":
        return None
    if not _CURSOR.fullmatch(raw):
        raise BadParameter(name, "use the link to the next or previous page as it was given")
    stamp, _, last = raw.partition("_")
    micros, item_id = int(stamp), int(last)
    if micros > _MAX_STAMP or item_id > MAX_ITEM_ID:
        raise BadParameter(name, "no page starts there; start again from the first page")
    return _EPOCH + timedelta(microseconds=micros), item_id


def item_id(raw: str) -> int | None:
    """An item id from a URL; None when it can't name an item (so: not found)."""
    if not _ITEM_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ITEM_ID else None


def service(raw: str) -> str | None:
    """A service filter: None for all the caseworker's services."""
    if raw == "":
        return None
    if not _SERVICE_ID.fullmatch(raw):
        raise BadParameter("service", "not a service id (lower-case letters, digits, - and _)")
    return raw


def search(raw: str, name: str) -> str | None:
    """Words to look for, trimmed to a sensible length; None when there are none."""
    found = control_character(raw)
    if found is not None:
        raise BadParameter(name, f"contains a control character ({found})")
    words = raw.strip()[:MAX_SEARCH]
    return words or None


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day(raw: str, name: str) -> date | None:
    """A day written as a date field sends it (YYYY-MM-DD); None when empty."""
    value = raw.strip()
    if not value:
        return None
    if not _DAY.fullmatch(value):
        raise BadParameter(name, "is not a date written as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter(name, f"{value} is not a day of the calendar") from None


def received_between(
    first: date | None, last: date | None
) -> tuple[datetime | None, datetime | None]:
    """The days from `first` to `last`, both whole and in UTC (as the pages show times), as a
    half-open range of instants; BadParameter when the last day comes before the first."""
    if first is not None and last is not None and last < first:
        raise BadParameter("received_to", "is before the day received from")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) if first else None
    end = (
        datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1) if last else None
    )
    return start, end
