"""Log lines are safe to read in a terminal: control characters in values (a signed message id,
an error message) are written as escapes, in console and JSON output alike."""

from __future__ import annotations

import json
import re

import pytest
import structlog

from inbound.logs import _console, escape_controls, render_json

# Raw characters no rendered line may contain: C0, DEL, C1 and the bidi controls.
RAW = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE = "id-\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\u202eevil\u2066\x00\t\r\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain id 42", "plain id 42"),
        ("\x1b[31mred", "\\x1b[31mred"),  # CSI: colours, cursor moves, clearing the screen
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC: retitles the window
        ("\x9b2J", "\\x9b2J"),  # C1 CSI, which some terminals act on in UTF-8
        ("a\x7fb", "a\\x7fb"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("abc\u202etxt.exe", "abc\\u202etxt.exe"),  # right-to-left override
        (
            "\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
            "\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c",
        ),
        ("café 日本 ☃", "café 日本 ☃"),  # printable text stays as it is
    ],
)
def test_control_characters_are_written_as_escapes(text: str, expected: str) -> None:
    assert escape_controls(text) == expected


def test_console_lines_hold_no_raw_control_character() -> None:
    renderer = _console(structlog.dev.ConsoleRenderer(colors=False))
    line = renderer(None, "info", {"event": "webhook_accepted", "message": HOSTILE})
    assert isinstance(line, str)
    assert RAW.search(line) is None
    assert "\\x1b]0;owned\\x07" in line
    assert "\\u202eevil" in line


@pytest.mark.parametrize("big", [1, 2**70])  # orjson, and the standard encoder's fallback
def test_json_lines_hold_no_raw_control_character_and_decode_to_the_value(big: int) -> None:
    line = render_json({"event": "webhook_accepted", "message": HOSTILE, "n": big, HOSTILE: 1})
    assert RAW.search(line) is None
    decoded = json.loads(line)
    assert decoded["message"] == HOSTILE
    assert decoded[HOSTILE] == 1


def test_json_lines_of_plain_text_are_unchanged() -> None:
    event = {"event": "webhook_accepted", "message": "generic:abc", "text": "café"}
    assert json.loads(render_json(event)) == event
