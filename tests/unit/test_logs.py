"""The JSON log renderer: every event becomes one line of valid JSON, whatever it carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import structlog

from inbound.logs import render_json

RENDER = structlog.processors.JSONRenderer(serializer=render_json)


def rendered(**event: object) -> dict[str, object]:
    line = RENDER(None, "info", dict(event))
    assert isinstance(line, str)
    assert "\n" not in line
    decoded: dict[str, object] = json.loads(line)
    return decoded


def test_plain_values_round_trip() -> None:
    event = {"event": "webhook_accepted", "provider": "twilio", "count": 3, "ok": True, "x": None}
    assert rendered(**event) == event


def test_values_json_has_no_type_for_are_rendered_not_dropped() -> None:
    when = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    decoded = rendered(event="e", when=when, path=Path("rules/x.yaml"), keys={1: "a"})
    assert decoded["when"] == "2026-11-29T08:00:00+00:00"
    assert decoded["path"] == repr(Path("rules/x.yaml"))
    assert decoded["keys"] == {"1": "a"}


def test_an_integer_orjson_refuses_falls_back_to_the_standard_encoder() -> None:
    assert rendered(event="e", big=2**70)["big"] == 2**70


def test_text_that_looks_like_json_stays_a_string() -> None:
    assert rendered(event='"}{"injected": 1')["event"] == '"}{"injected": 1'
