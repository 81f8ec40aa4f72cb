"""The prompts API (/api/prompts): a service's machines tell inbound what they asked (issue 15).

Called with a service token (`inbound tokens add --service ID`), which fixes the service: a
token can only store and withdraw its own service's prompts. The bearer middleware in
`inbound.review.api` authenticates it and sets `SERVICE`.

- `POST /api/prompts`: one JSON object → one `{"id", "reference", "to"}`; a JSON array, or
  NDJSON (`Content-Type: application/x-ndjson`), of up to 10,000 → an array of them, in order.
  Stored all or nothing; sending a prompt again revises it (`inbound.store.prompt_writes`).
- `DELETE /api/prompts/{reference}?to=NUMBER`: withdraw a prompt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from inbound import phone
from inbound.logs import get_logger
from inbound.prompts.intake import (
    MAX_BATCH,
    MAX_TEXT,
    InvalidBatch,
    OtherService,
    Sender,
    read_batch,
)
from inbound.prompts.model import InvalidPrompt
from inbound.review.desk import Desk
from inbound.rules.prompt_settings import PromptSettings
from inbound.store import prompt_writes
from inbound.store.prompts import Prompts, StoredPrompt

SERVICE = web.RequestKey("api_service", str)  # the service a service token acts for
_DESK = web.AppKey("prompts_desk", Desk)
NDJSON = "application/x-ndjson"
# The largest body read: 10,000 prompts of full-length text with room for the JSON around them.
MAX_BODY = MAX_BATCH * (MAX_TEXT + 1_000)
_CHUNK = 64 * 1024
_log = get_logger("api")


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


class _BadBody(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.response = _error(status, code, message, **extra)


async def _body(request: web.Request) -> bytes:
    """The whole body, up to MAX_BODY. Read from the stream: the server's own limit (1 MiB for
    every route) is far below a day's reminders."""
    if (request.content_length or 0) > MAX_BODY:
        raise _BadBody(413, "too_large", f"the body is over {MAX_BODY:,} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > MAX_BODY:
            raise _BadBody(413, "too_large", f"the body is over {MAX_BODY:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _items(request: web.Request, body: bytes) -> tuple[Sequence[object], bool]:
    """The prompts sent, and whether they came as one object (answered with one object)."""
    if request.content_type == NDJSON:
        items = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except (ValueError, RecursionError):
                raise _BadBody(
                    400, "bad_json", f"line {number} is not JSON", index=len(items), line=number
                ) from None
        return items, False
    # octet-stream: what aiohttp reports when no Content-Type was sent at all.
    if request.content_type not in ("application/json", "application/octet-stream"):
        raise _BadBody(
            415,
            "unsupported_media_type",
            f"{request.content_type[:100]} is not prompts: send Content-Type: application/json "
            f"(one prompt, or an array of them) or {NDJSON} (one prompt a line)",
        )
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise _BadBody(400, "bad_json", "the body is not JSON") from None
    if isinstance(parsed, list):
        return parsed, False
    return [parsed], True


def _sender(desk: Desk, service: str) -> Sender:
    found = desk.rules().service(service)
    if found is None:  # its rule file was taken away since the token was made
        return Sender(service, None, PromptSettings(), datetime.now(UTC))
    return Sender(service, found.service.region, found.prompts, datetime.now(UTC))


def _stored_json(stored: StoredPrompt) -> dict[str, Any]:
    return {"id": stored.id, "reference": stored.prompt.reference, "to": stored.prompt.recipient}


def _invalid(wrong: InvalidPrompt, index: int | None) -> web.Response:
    status = 403 if isinstance(wrong, OtherService) else 422
    where = f"prompt {index}: " if index is not None else ""
    extra: dict[str, Any] = {"field": wrong.field}
    if index is not None:
        extra["index"] = index
    return _error(status, "invalid", f"{where}{wrong}", **extra)


async def post_prompts(request: web.Request) -> web.StreamResponse:
    service = request[SERVICE]
    desk = request.app[_DESK]
    try:
        items, single = _items(request, await _body(request))
    except _BadBody as bad:
        return bad.response
    try:
        prompts = read_batch(items, _sender(desk, service))
    except InvalidBatch as wrong:
        if len(items) > MAX_BATCH:
            # 422, not 413: the body may be small; it is the count that is over the limit.
            return _error(422, "too_many", str(wrong.wrong.problem), field="prompt")
        return _invalid(wrong.wrong, None if single else wrong.index)
    async with desk.sessions.begin() as session:
        stored = await prompt_writes.store(session, prompts)
    _log.info("prompts_stored", service=service, count=len(stored))
    if single:
        return web.json_response(_stored_json(stored[0]), status=201)
    return web.json_response([_stored_json(one) for one in stored], status=201)


async def delete_prompt(request: web.Request) -> web.StreamResponse:
    service = request[SERVICE]
    desk = request.app[_DESK]
    reference = request.match_info["reference"].strip()
    raw = request.query.get("to", "")
    if not raw.strip():
        return _error(400, "invalid", "to: is missing: ?to=NUMBER", field="to")
    sender = _sender(desk, service)
    try:
        to = phone.normalise(raw, sender.region)
    except phone.InvalidNumber:
        to = ""
    if not phone.is_e164(to):
        message = f"to: {phone.mask(raw.strip())} is not a phone number"
        return _error(400, "invalid", message, field="to")
    async with desk.sessions.begin() as session:
        withdrawn = await Prompts(session).withdraw(service, reference, to)
    if withdrawn is None:
        return _error(404, "not_found", "no prompt with this reference for this number")
    _log.info("prompt_withdrawn", service=service)
    return web.json_response({**_stored_json(withdrawn), "state": withdrawn.prompt.state.value})


def add_routes(app: web.Application, desk: Desk) -> None:
    """Add the prompts routes to the API app (mounted at /api)."""
    app[_DESK] = desk
    app.router.add_post("/prompts", post_prompts)
    app.router.add_delete("/prompts/{reference}", delete_prompt)


# The handlers a service token may call; a personal token may call none of them.
FOR_SERVICE_TOKENS = frozenset({post_prompts, delete_prompt})
