"""A provider's stated time is flagged, never refused, when it can't be right: further back than
the provider keeps retrying, or ahead of inbound's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.providers.stated_time import DEFAULT_WINDOW, SLACK, outside_window, retry_window

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("provider", "stated", "expected"),
    [
        ("generic", NOW, None),
        ("generic", NOW - timedelta(hours=23), None),  # a genuine late retry
        ("generic", NOW + SLACK, None),  # clocks a little apart
        ("generic", NOW + SLACK + timedelta(seconds=1), 301.0),
        ("generic", NOW - DEFAULT_WINDOW - SLACK - timedelta(seconds=1), -(86_400 + 301.0)),
        ("generic", datetime(2099, 1, 1, tzinfo=UTC), (datetime(2099, 1, 1, tzinfo=UTC) - NOW)),
        ("generic", datetime(2001, 1, 1, tzinfo=UTC), (datetime(2001, 1, 1, tzinfo=UTC) - NOW)),
        ("sns", NOW - timedelta(hours=2), -7200.0),  # SNS stops retrying within the hour
        ("sinch", NOW - timedelta(hours=30), None),  # Sinch retries for well over a day
    ],
)
def test_stated_times_outside_the_retry_window_are_flagged_with_their_skew(
    provider: str, stated: datetime, expected: float | timedelta | None
) -> None:
    skew = outside_window(provider, stated, NOW)
    if expected is None:
        assert skew is None
        return
    assert skew is not None
    seconds = expected.total_seconds() if isinstance(expected, timedelta) else expected
    assert skew.seconds == seconds
    assert skew.direction == ("future" if seconds > 0 else "past")


def test_a_provider_without_a_known_window_gets_the_default() -> None:
    assert retry_window("no-such-provider") == DEFAULT_WINDOW
