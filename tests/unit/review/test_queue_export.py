"""The queue's CSV cells: formulas neutralised, numbers masked; the received-between days."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from inbound.review.parameters import BadParameter, day, received_between
from inbound.review.queue_export import HEADER, csv_cell, csv_lines, csv_row
from inbound.store.review import QueueRow


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 call me", "'+44 call me"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("yes = fine", "yes = fine"),
        ("", ""),
        ("cancel 8812", "cancel 8812"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_starts_with_a_quote(value: str, written: str) -> None:
    assert csv_cell(value) == written


def _row(text: str | None) -> QueueRow:
    when = datetime(2026, 11, 30, 9, 5, 7, tzinfo=UTC)
    item = SimpleNamespace(id=7, service_id="alpha", state="open", reason="=rule says review")
    message = SimpleNamespace(sender="+447700900123", text=text, accepted_at=when)
    return QueueRow(cast(Any, item), cast(Any, message), None)


def test_a_row_is_masked_neutralised_and_read_back_by_a_csv_reader() -> None:
    lines = csv_lines([HEADER, csv_row(_row('-said "hi",\nthen left'), "Alpha surgery")])
    read = list(csv.reader(io.StringIO(lines)))
    assert read[0] == list(HEADER)
    assert read[1] == [
        "7",
        "Alpha surgery",
        "open",
        "2026-11-30T09:05:07+00:00",
        "'+44********23",  # a spreadsheet would read "+44…" as a formula too
        '\'-said "hi",\nthen left',
        "'=rule says review",
        "",
    ]
    assert lines.endswith("\r\n")


def test_a_purged_text_says_so() -> None:
    assert csv_row(_row(None), "Alpha")[5] == "(purged after retention)"


def test_days_are_read_as_a_date_field_sends_them() -> None:
    assert day("2026-11-30", "received_from") == date(2026, 11, 30)
    assert day(" ", "received_from") is None
    for bad in ("30/11/2026", "2026-02-30", "2026-11-30T00:00"):
        with pytest.raises(BadParameter) as raised:
            day(bad, "received_to")
        assert raised.value.name == "received_to"


def test_received_between_takes_both_days_whole() -> None:
    start, end = received_between(date(2026, 11, 29), date(2026, 11, 30))
    assert start == datetime(2026, 11, 29, tzinfo=UTC)
    assert end == datetime(2026, 12, 1, tzinfo=UTC)
    assert received_between(None, None) == (None, None)
    with pytest.raises(BadParameter, match="before the day received from"):
        received_between(date(2026, 11, 30), date(2026, 11, 29))
