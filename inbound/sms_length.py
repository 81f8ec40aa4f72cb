"""How many SMS segments a text takes, in GSM-7 or UCS-2. Pure.

A text that fits the GSM 03.38 alphabet is sent 7 bits a character: 160 in one SMS, 153 a
segment once it is split (the rest carries the joining header); the characters of the extension
table (€, [, ], {, }, ^, ~, \\, |, form feed) take two. One character outside it (an emoji, a
Welsh ŵ or ŷ, a curly quote) sends the whole text as UCS-2: 70 UTF-16 units in one SMS, 67 a
segment, and an emoji is two units. So a limit in characters says little about cost: 918
characters are six segments in GSM-7 but fourteen in UCS-2, and 918 emoji are twenty-eight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

# GSM 03.38 basic character set (ESC, 0x1B, is the escape to the extension table, not text).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC and a second septet.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_SEGMENT = 160, 153
UCS2_SINGLE, UCS2_SEGMENT = 70, 67


class Encoding(StrEnum):
    """How an SMS text is sent."""

    GSM7 = "GSM-7"  # the GSM 03.38 alphabet, 7 bits a character
    UCS2 = "UCS-2"  # 16 bits a UTF-16 unit: anything outside GSM 03.38


@dataclass(frozen=True)
class Length:
    """A text's size as the network sees it."""

    encoding: Encoding
    units: int  # septets in GSM-7, UTF-16 code units in UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic or extension table."""
    return all(char in GSM_BASIC or char in GSM_EXTENSION for char in text)


def first_outside_gsm(text: str) -> str | None:
    """The first character that makes `text` UCS-2; None when it all fits GSM-7."""
    return next((c for c in text if c not in GSM_BASIC and c not in GSM_EXTENSION), None)


def measure(text: str) -> Length:
    """The encoding, units and segments of `text` (0 segments for the empty text)."""
    if is_gsm7(text):
        septets = sum(2 if char in GSM_EXTENSION else 1 for char in text)
        return Length(Encoding.GSM7, septets, _segments(septets, GSM_SINGLE, GSM_SEGMENT))
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    return Length(Encoding.UCS2, units, _segments(units, UCS2_SINGLE, UCS2_SEGMENT))


def capacity(encoding: Encoding, segments: int) -> int:
    """The most units `segments` SMS carry in `encoding`."""
    single, each = (
        (GSM_SINGLE, GSM_SEGMENT) if encoding is Encoding.GSM7 else (UCS2_SINGLE, UCS2_SEGMENT)
    )
    return single if segments == 1 else each * segments


def _segments(units: int, single: int, each: int) -> int:
    if units == 0:
        return 0
    return 1 if units <= single else math.ceil(units / each)
