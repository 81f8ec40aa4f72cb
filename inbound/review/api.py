"""The JSON API (/api/): the queue operations for services building their own tools.

`Authorization: Bearer <token>` (made with `inbound tokens add`); the token acts as its user,
with that user's services, until it expires, is revoked or its user is disabled. Phone numbers
appear masked; message text in full.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from inbound import phone
from inbound.logs import get_logger
from inbound.review import auth
from inbound.review.decisions import CAPTURES, Refused
from inbound.review.desk import Desk, NotFound
from inbound.review.security_events import Denied
from inbound.review.site import client_address
from inbound.review.token_state import TokenState, use_worth_recording
from inbound.store.models import ApiToken
from inbound.store.review import STATES, QueueFilter
from inbound.store.tokens import ApiTokens
from inbound.store.users import Audit, Scope, Users

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DESK = web.AppKey("review_desk", Desk)
SCOPE = web.RequestKey("api_scope", Scope)
_log = get_logger("api")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


# The answer to a token that doesn't authenticate names the reason. Telling "revoked" or
# "expired" apart from "unknown" leaks nothing: only someone holding the token can get either
# answer, and they already know the token existed; a guessed token is just "unknown". Naming the
# reason tells a legitimate client to ask for a new token instead of retrying.
REFUSALS: dict[TokenState, tuple[str, str]] = {
    TokenState.UNKNOWN: ("token_unknown", "unknown token"),
    TokenState.EXPIRED: ("token_expired", "the token has expired: ask for a new one"),
    TokenState.REVOKED: ("token_revoked", "the token was revoked: ask for a new one"),
    TokenState.USER_DISABLED: ("token_revoked", "the token was revoked: ask for a new one"),
}


@web.middleware
async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "unauthorized", "send Authorization: Bearer <token>")
    now = datetime.now(UTC)
    async with request.app[DESK].sessions.begin() as db:
        tokens = ApiTokens(db)
        presented = await tokens.presented(auth.token_hash(token.strip()), now)
        row, user = presented.token, presented.user
        if presented.state is not TokenState.ACTIVE or row is None or user is None:
            await _refused(request, db, presented.state, row)
            code, message = REFUSALS.get(presented.state, REFUSALS[TokenState.UNKNOWN])
            return _error(401, code, message)
        if use_worth_recording(row.last_used_at, now):
            await tokens.record_use(row.id, now)
        request[SCOPE] = await Users(db).scope(user)
    response = await handler(request)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _refused(
    request: web.Request, db: AsyncSession, state: TokenState, token: ApiToken | None
) -> None:
    """A token that exists but no longer works: a security event (log line and metric) and an
    audit row. An unknown token names no account: a log line at info, nothing more."""
    address = client_address(request)
    if token is None:
        _log.info("api_token_unknown", address=address)
        return
    kind = Denied.EXPIRED_TOKEN if state is TokenState.EXPIRED else Denied.REVOKED_TOKEN
    request.app[DESK].events.access_denied(
        kind, user_id=token.user_id, address=address, token_id=token.id, detail=state.value
    )
    await Audit(db).record(
        "token_refused",
        user_id=token.user_id,
        subject=f"token {token.id}",
        address=address,
        detail=state.value,
    )


def _item_json(item: Any, message: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "service": item.service_id,
        "reason": item.reason,
        "rule": item.rule,
        "state": item.state,
        "created_at": item.created_at.isoformat(),
        "claimed_by": item.claimed_by,
        "decision": item.decision,
        "message": {
            "provider": message.provider,
            "id": message.provider_message_id,
            "from": phone.mask(message.sender),
            "text": message.text,
            "received_at": message.received_at.isoformat(),
        },
    }


async def queue(request: web.Request) -> web.StreamResponse:
    scope: Scope = request[SCOPE]
    query = request.query
    after = None
    if query.get("after"):
        stamp, _, last = query["after"].partition("_")
        if not (stamp.isdigit() and last.isdigit()):
            return _error(422, "invalid", "after: use the next_after value of the previous page")
        after = (datetime.fromtimestamp(int(stamp) / 1_000_000, UTC), int(last))
    state = query.get("state", "")
    if state and state not in STATES:
        return _error(422, "invalid", f"state: one of {', '.join(STATES)}")
    wanted = QueueFilter(
        service=query.get("service") or None,
        reason=query.get("reason") or None,
        states=(state,) if state else (),
        mine=query.get("mine") in {"1", "true"},
        text=query.get("q") or None,
        after=after,
    )
    try:
        page = await request.app[DESK].queue(scope, wanted, request.remote)
    except NotFound:
        return _error(404, "not_found", "no such service among yours")
    next_after = None
    if page.next_after is not None:
        next_after = f"{int(page.next_after[0].timestamp() * 1_000_000)}_{page.next_after[1]}"
    return web.json_response(
        {
            "items": [_item_json(row.item, row.message) for row in page.rows],
            "counts": page.counts,
            "next_after": next_after,
        }
    )


def _item_id(request: web.Request) -> int:
    raw = request.match_info["item"]
    if not raw.isdigit() or len(raw) > 11:
        raise NotFound
    return int(raw)


async def item(request: web.Request) -> web.StreamResponse:
    try:
        view = await request.app[DESK].view(request[SCOPE], _item_id(request), request.remote)
    except NotFound:
        return _error(404, "not_found", "no such item")
    body = _item_json(view.item, view.message)
    body["conversation"] = [
        {
            "id": message.provider_message_id,
            "text": message.text,
            "received_at": message.received_at.isoformat(),
            "outcome": outcome.action if outcome else None,
            "review": review.state if review else None,
        }
        for message, outcome, review in view.conversation
    ]
    body["notes"] = [
        {"by": email, "text": note.text, "at": note.created_at.isoformat()}
        for note, email in view.notes
    ]
    return web.json_response(body)


async def act(request: web.Request) -> web.StreamResponse:
    scope: Scope = request[SCOPE]
    desk = request.app[DESK]
    what = request.match_info["action"]
    try:
        body = await request.json() if request.can_read_body else {}
    except (ValueError, UnicodeDecodeError):
        return _error(400, "bad_json", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(422, "invalid", "send a JSON object")

    def text(name: str) -> str:
        value = body.get(name, "")
        return value if isinstance(value, str) else json.dumps(value)

    try:
        item_id = _item_id(request)
        if what == "claim":
            await desk.claim(scope, item_id, request.remote)
        elif what == "release":
            await desk.release(scope, item_id, request.remote)
        elif what == "decide":
            captures = body.get("captures") or {}
            if not isinstance(captures, dict):
                return _error(422, "invalid", "captures: an object of strings")
            kept = {k: str(v) for k, v in captures.items() if k in CAPTURES}
            await desk.decide(scope, item_id, text("action"), kept, request.remote)
        elif what == "reply":
            await desk.reply(scope, item_id, text("text"), request.remote)
        elif what == "dismiss":
            await desk.dismiss(scope, item_id, text("reason"), request.remote)
        elif what == "note":
            await desk.note(scope, item_id, text("text"), request.remote)
        else:
            return _error(404, "not_found", "no such operation")
    except NotFound:
        return _error(404, "not_found", "no such item")
    except Refused as refused:
        return _error(409, "conflict", str(refused))
    return web.json_response({"status": "ok", "item": item_id, "done": what})


def api_app(desk: Desk) -> web.Application:
    """The API as an application mounted at /api."""
    app = web.Application(middlewares=[bearer])
    app[DESK] = desk
    app.router.add_get("/queue", queue)
    app.router.add_get("/items/{item}", item)
    app.router.add_post("/items/{item}/{action}", act)
    return app
