"""Joining the parts of a concatenated SMS. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Joined:
    """The whole text, and which parts (1-based) never arrived."""

    text: str
    missing: tuple[int, ...]

    @property
    def complete(self) -> bool:
        """Every part arrived."""
        return not self.missing


def join_parts(parts: Iterable[tuple[int, str]], total: int) -> Joined:
    """Join (number, text) parts in order; a repeated number keeps its first text.

    A missing part is shown as a visible gap so a person reading it knows text is lost.
    """
    by_number: dict[int, str] = {}
    for number, text in parts:
        by_number.setdefault(number, text)
    missing = tuple(n for n in range(1, total + 1) if n not in by_number)
    pieces = [by_number.get(n, f"[part {n} of {total} missing]") for n in range(1, total + 1)]
    # Parts split a message at arbitrary characters (mid-word included), so join without spaces,
    # except around a gap marker, which must stand apart from the text.
    text = ""
    for number, piece in zip(range(1, total + 1), pieces, strict=True):
        gap = number in missing or (number - 1) in missing
        text += (" " if gap and text else "") + piece
    return Joined(text, missing)
