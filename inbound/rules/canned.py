"""Canned replies: the placeholders a rule file's `replies:` texts may use, and filling them.
Pure.

A caseworker picks a canned reply by name; its text is filled from what the review item knows.
The set is small and fixed so that a typo (`{refrence}`) stops the rule file loading instead of
sending a text with a hole in it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

# Each placeholder and what it is filled with (the rule-file docs list the same).
PLACEHOLDERS: Mapping[str, str] = {
    "service": "the service's name, as caseworkers see it",
    "reference": "the reference of the reminder the message answers",
    "received": "the day the message was received, like 30 November",
}


class PlaceholderError(ValueError):
    """A canned reply's text uses a placeholder that isn't one of PLACEHOLDERS, or braces
    that aren't one; the message names it."""


def placeholders(text: str) -> tuple[str, ...]:
    """The placeholders `text` uses, in order, each once; PlaceholderError for an unknown one,
    a format spec (`{service:>10}`), or a lone brace (write `{{` for a brace)."""
    found: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise PlaceholderError(f"a brace without its pair ({error}): write {{{{ for {{") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise PlaceholderError(f"unknown placeholder {shown}")
        if name not in found:
            found.append(name)
    return tuple(found)


@dataclass(frozen=True)
class Filled:
    """A canned reply as this item would send it, or why it can't be used here."""

    name: str
    text: str | None  # the text with placeholders filled; None when one has no value
    missing: tuple[str, ...]  # placeholders this item has no value for


def fill(name: str, template: str, values: Mapping[str, str | None]) -> Filled:
    """The canned reply `template` filled from `values` (placeholder -> value, None or absent
    when the item doesn't know it)."""
    used = placeholders(template)
    missing = tuple(p for p in used if not values.get(p))
    if missing:
        return Filled(name, None, missing)
    return Filled(name, template.format_map({p: values[p] for p in used}), ())
