"""Structured logging. Callers pass masked numbers only; message text is never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

# What a terminal acts on, or what reorders the text around it: C0 and C1 controls, DEL, and the
# bidirectional marks, embeddings, overrides and isolates. Values carry provider-controlled text
# (a signed message id, an error message), which must not move the cursor, retitle the window or
# reverse a line someone reads.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same less C0, which every JSON encoder already writes as \u00XX escapes.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """The text with every control character written as an escape (`\\x1b`, `\\u202e`)."""
    return _CONTROLS.sub(_escaped, text)


def _json_escape(line: str) -> str:
    # orjson (like json.dumps with ensure_ascii off) leaves DEL, C1 and bidi controls raw. They
    # can only be inside strings (JSON's own syntax is ASCII), where \uXXXX means the same.
    if line.isascii() and "\x7f" not in line:
        return line  # the usual line, checked at C speed
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", line)


def _console(renderer: structlog.dev.ConsoleRenderer) -> structlog.typing.Processor:
    def render(logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        line = renderer(logger, name, event_dict)
        return escape_controls(line)

    return render


def _one_line(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Values can carry provider-controlled text (error messages, ids): a newline in one must not
    # start what looks like a new log line in console output.
    for key, value in event_dict.items():
        if isinstance(value, str) and ("\n" in value or "\r" in value):
            event_dict[key] = value.replace("\r", "\\r").replace("\n", "\\n")
    return event_dict


# What structlog's add_log_level writes for the two method names that aren't level names.
_LEVEL_NAMES = {"warn": "warning", "exception": "error"}


def _prepare(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """add_log_level, TimeStamper(fmt="iso", utc=True), format_exc_info and _one_line, in one.

    The same keys in the same order as those four processors one after another, for a quarter
    of the calls: every webhook writes a line, and the chain was a visible share of one.
    """
    event_dict["level"] = _LEVEL_NAMES.get(method_name, method_name)
    event_dict["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if "exc_info" in event_dict:
        event_dict = structlog.processors.format_exc_info(logger, method_name, event_dict)
    return _one_line(logger, method_name, event_dict)


def render_json(event: EventDict, **options: Any) -> str:
    """One log line as JSON; orjson, falling back to the standard encoder for what it refuses.

    Control characters are escaped whatever the encoder, so the line is safe in a terminal.
    """
    # orjson: a log line per webhook made the stdlib encoder a visible share of a request.
    try:
        line = orjson.dumps(
            event, default=options.get("default"), option=orjson.OPT_NON_STR_KEYS
        ).decode()
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        line = json.dumps(event, **options)
    return _json_escape(line)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Send structured log lines to stderr as JSON (or readable console lines).

    Libraries' standard-library log records (aio-pika, aiohttp) are rendered the same way.
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=render_json)
        if fmt == "json"
        else _console(structlog.dev.ConsoleRenderer(colors=False))
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        # merge_contextvars, then `_prepare`: the steps of `shared`, format_exc_info and
        # _one_line in one call.
        processors=[structlog.contextvars.merge_contextvars, _prepare, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # write() rather than print(): one call a line instead of two (text, then newline).
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _one_line,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric_level, logging.WARNING))


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger that tags every line with the component name."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(component=name)
    return logger
