"""Times in webhooks: signed Unix timestamps checked for freshness, sent times read as UTC. Pure.

Shared by the Vonage (SMS and Messages API), Telnyx and SNS providers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from inbound.providers.base import PayloadInvalid, SignatureInvalid

# Unix seconds as providers send them: digits only (no sign, no exponent, no fraction).
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def unix_seconds(value: str, field: str) -> int:
    """A signed Unix-seconds timestamp, or SignatureInvalid naming the field."""
    if not _UNIX_SECONDS.fullmatch(value.strip()):
        raise SignatureInvalid(f"{field} is not a Unix time in seconds", field=field)
    return int(value.strip())


def require_fresh(stamp: float, now: float, field: str, past: float, future: float) -> None:
    """Refuse a genuine but replayed (older than `past` s) or far-future (`future` s) request."""
    if now - stamp > past:
        raise SignatureInvalid(f"{field} is too old: a replay, or a clock far behind", field=field)
    if stamp - now > future:
        raise SignatureInvalid(f"{field} is in the future beyond the allowed skew", field=field)


def iso_utc(value: str, field: str) -> datetime:
    """An ISO 8601 time with an offset (or `Z`), in UTC; PayloadInvalid naming the field."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PayloadInvalid(f"{field} is not an ISO 8601 time", field=field) from None
    if parsed.utcoffset() is None:
        raise PayloadInvalid(f"{field} has no time zone offset", field=field)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PayloadInvalid(f"{field} is out of range", field=field) from None


def naive_utc(value: str, field: str, layout: str = "%Y-%m-%d %H:%M:%S") -> datetime:
    """A time without an offset that the provider documents as UTC (e.g. Vonage's)."""
    try:
        return datetime.strptime(value.strip(), layout).replace(tzinfo=UTC)
    except ValueError:
        raise PayloadInvalid(f"{field} is not a time like {layout}", field=field) from None
