"""SMS segments as the network counts them: GSM-7 septets or UCS-2 units, from a table."""

from __future__ import annotations

import pytest

from inbound.sms_length import Encoding, capacity, first_outside_gsm, measure

GSM7, UCS2 = Encoding.GSM7, Encoding.UCS2


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", GSM7, 0, 0),
        ("x" * 160, GSM7, 160, 1),
        ("x" * 161, GSM7, 161, 2),  # split: 153 a segment
        ("x" * 306, GSM7, 306, 2),
        ("x" * 307, GSM7, 307, 3),
        ("x" * 918, GSM7, 918, 6),
        ("x" * 919, GSM7, 919, 7),
        ("€" * 80, GSM7, 160, 1),  # the extension table takes two septets
        ("{[]}", GSM7, 8, 1),
        ("Café à 10h, £5 @ Ørsted", GSM7, 23, 1),  # accents in GSM 03.38 stay 7-bit
        ("y" * 70, GSM7, 70, 1),
        ("ŵ" * 70, UCS2, 70, 1),  # Welsh ŵ isn't GSM-7
        ("ŵ" * 71, UCS2, 71, 2),
        ("ŵ" * 402, UCS2, 402, 6),
        ("😀", UCS2, 2, 1),  # outside the BMP: a surrogate pair
        ("😀" * 35, UCS2, 70, 1),
        ("x" * 917 + "😀", UCS2, 919, 14),  # one emoji turns six segments into fourteen
        ("“quoted”", UCS2, 8, 1),  # curly quotes aren't GSM-7
    ],
)
def test_measure(text: str, encoding: Encoding, units: int, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


@pytest.mark.parametrize(
    ("encoding", "segments", "units"),
    [(GSM7, 1, 160), (GSM7, 6, 918), (UCS2, 1, 70), (UCS2, 6, 402)],
)
def test_capacity(encoding: Encoding, segments: int, units: int) -> None:
    assert capacity(encoding, segments) == units


@pytest.mark.parametrize(("text", "found"), [("plain", None), ("abŵc😀", "ŵ"), ("x😀", "😀")])
def test_first_outside_gsm(text: str, found: str | None) -> None:
    assert first_outside_gsm(text) == found
