"""The difference between two versions of a service's rules, line by line, as rows a page
shows: each hunk of changed lines with a few unchanged ones around it (difflib). Pure."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What happened to a line between the two versions."""

    SAME = "same"  # in both: context around a change
    REMOVED = "removed"  # only in the older version
    ADDED = "added"  # only in the newer version


@dataclass(frozen=True)
class Row:
    """One line: its number in each version (None where it is not in that version)."""

    kind: Kind
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True)
class Hunk:
    """Changed lines with their context; lines between hunks are unchanged and left out."""

    rows: tuple[Row, ...]

    @property
    def heading(self) -> str:
        """Where the hunk is, in words: "Lines 4 to 9 (was lines 4 to 8)"."""
        new = _span([row.new for row in self.rows if row.new is not None])
        old = _span([row.old for row in self.rows if row.old is not None])
        return f"{new[:1].upper()}{new[1:]} (was {old})"


@dataclass(frozen=True)
class VersionDiff:
    hunks: tuple[Hunk, ...]
    removed: int
    added: int

    @property
    def same(self) -> bool:
        return not self.hunks


def diff(old: str, new: str, context: int = 3) -> VersionDiff:
    """The lines removed from `old` and added in `new`, grouped into hunks with `context`
    unchanged lines either side."""
    before, after = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    hunks: list[Hunk] = []
    removed = added = 0
    for group in matcher.get_grouped_opcodes(context):
        rows: list[Row] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    Row(Kind.SAME, i + 1, j + 1, before[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            rows += [Row(Kind.REMOVED, i + 1, None, before[i]) for i in range(i1, i2)]
            rows += [Row(Kind.ADDED, None, j + 1, after[j]) for j in range(j1, j2)]
            removed += i2 - i1
            added += j2 - j1
        hunks.append(Hunk(tuple(rows)))
    return VersionDiff(tuple(hunks), removed, added)


def _span(numbers: list[int]) -> str:
    if not numbers:
        return "no lines"
    first, last = min(numbers), max(numbers)
    return f"line {first}" if first == last else f"lines {first} to {last}"
