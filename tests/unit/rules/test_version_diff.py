"""The diff between two versions' YAML, as the versions pages show it."""

from __future__ import annotations

import pytest

from inbound.rules.version_diff import Kind, Row, diff

OLD = "".join(f"line {n}\n" for n in range(1, 21))


def test_the_same_text_has_no_hunks() -> None:
    found = diff(OLD, OLD)
    assert found.same
    assert (found.removed, found.added) == (0, 0)


def test_a_changed_line_is_removed_then_added_with_three_lines_around_it() -> None:
    found = diff(OLD, OLD.replace("line 10\n", "line ten\n"))
    [hunk] = found.hunks
    assert hunk.rows == (
        Row(Kind.SAME, 7, 7, "line 7"),
        Row(Kind.SAME, 8, 8, "line 8"),
        Row(Kind.SAME, 9, 9, "line 9"),
        Row(Kind.REMOVED, 10, None, "line 10"),
        Row(Kind.ADDED, None, 10, "line ten"),
        Row(Kind.SAME, 11, 11, "line 11"),
        Row(Kind.SAME, 12, 12, "line 12"),
        Row(Kind.SAME, 13, 13, "line 13"),
    )
    assert hunk.heading == "Lines 7 to 13 (was lines 7 to 13)"
    assert (found.removed, found.added) == (1, 1)


def test_changes_far_apart_are_hunks_of_their_own() -> None:
    new = OLD.replace("line 2\n", "").replace("line 18\n", "line 18\nline 18b\n")
    found = diff(new=new, old=OLD)
    assert len(found.hunks) == 2
    first, second = found.hunks
    assert [r.kind for r in first.rows].count(Kind.REMOVED) == 1
    assert [r for r in second.rows if r.kind is Kind.ADDED] == [
        Row(Kind.ADDED, None, 18, "line 18b")
    ]
    assert first.heading == "Lines 1 to 4 (was lines 1 to 5)"
    assert (found.removed, found.added) == (1, 1)


@pytest.mark.parametrize(
    ("old", "new", "heading", "removed", "added"),
    [
        ("", "a: 1\n", "Line 1 (was no lines)", 0, 1),
        ("a: 1\n", "", "No lines (was line 1)", 1, 0),
        ("a: 1", "a: 1\n", None, 0, 0),  # only the final newline: the same lines
        ("a: 1\r\nb: 2\r\n", "a: 1\nb: 3\n", "Lines 1 to 2 (was lines 1 to 2)", 1, 1),
    ],
)
def test_edges(old: str, new: str, heading: str | None, removed: int, added: int) -> None:
    found = diff(old, new)
    assert (found.removed, found.added) == (removed, added)
    assert [hunk.heading for hunk in found.hunks] == ([heading] if heading else [])


def test_context_can_be_narrowed() -> None:
    [hunk] = diff(OLD, OLD.replace("line 10\n", "line ten\n"), context=0).hunks
    assert [row.kind for row in hunk.rows] == [Kind.REMOVED, Kind.ADDED]
