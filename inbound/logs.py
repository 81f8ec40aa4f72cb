"""Structured logging. Callers pass masked numbers only; message text is never logged."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger


def _one_line(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Values can carry provider-controlled text (error messages, ids): a newline in one must not
    # start what looks like a new log line in console output.
    for key, value in event_dict.items():
        if isinstance(value, str) and ("\n" in value or "\r" in value):
            event_dict[key] = value.replace("\r", "\\r").replace("\n", "\\n")
    return event_dict


def render_json(event: EventDict, **options: Any) -> str:
    """One log line as JSON; orjson, falling back to the standard encoder for what it refuses."""
    # orjson: a log line per webhook made the stdlib encoder a visible share of a request.
    try:
        return orjson.dumps(
            event, default=options.get("default"), option=orjson.OPT_NON_STR_KEYS
        ).decode()
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        return json.dumps(event, **options)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Send structured log lines to stderr as JSON (or readable console lines).

    Libraries' standard-library log records (aio-pika, aiohttp) are rendered the same way.
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=render_json)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _one_line, renderer],
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
