"""The JSON API (/api/): the queue operations for services building their own tools, and
the prompts API (`inbound.review.prompts_api`) for a service's machines.

`Authorization: Bearer <token>` (made with `inbound tokens add`). A personal token acts as its
user, with that user's services, until it expires, is revoked or its user is disabled; it may
call the queue operations. A service token acts for one service and may call that service's
prompts API only. Phone numbers appear masked; message text in full.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from inbound import phone
from inbound.conversation import Entry, EntryKind, OpenPrompt
from inbound.logs import get_logger
from inbound.managed_rules import ManagedRules
from inbound.review import auth, parameters, prompts_api, received_texts_api, rules_api
from inbound.review.decisions import (
    CAPTURES,
    MAX_REPLY,
    MAX_REPLY_SEGMENTS,
    MAX_REPLY_UCS2,
    Invalid,
    Refused,
)
from inbound.review.desk import Desk, ItemDetail, NotFound, ReplyChoice
from inbound.review.parameters import BadParameter
from inbound.review.security_events import Denied
from inbound.review.site import client_address
from inbound.review.suggestions_api import add_routes as add_suggestion_routes
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
    if request.match_info.handler in received_texts_api.OWN_AUTH:
        return await handler(request)  # Notify's credentials and error shape
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "unauthorized", "send Authorization: Bearer <token>")
    now = datetime.now(UTC)
    async with request.app[DESK].sessions.begin() as db:
        tokens = ApiTokens(db)
        presented = await tokens.presented(auth.token_hash(token.strip()), now)
        row, user = presented.token, presented.user
        service = row.service_id if row is not None else None
        if row is not None and row.notify_issuer is not None:
            # A key in Notify's format signs JWTs (received texts only); never a bearer itself.
            return _error(401, "wrong_token", _NOTIFY_KEY)
        if (
            presented.state is not TokenState.ACTIVE
            or row is None
            or (user, service) == (None, None)
        ):
            await _refused(request, db, presented.state, row)
            code, message = REFUSALS.get(presented.state, REFUSALS[TokenState.UNKNOWN])
            return _error(401, code, message)
        for_service = request.match_info.handler in prompts_api.FOR_SERVICE_TOKENS
        if (service is not None) != for_service:
            await _wrong_kind(request, db, row, for_service)
            return _error(403, "wrong_token", _WRONG_KIND[for_service])
        if use_worth_recording(row.last_used_at, now):
            await tokens.record_use(row.id, now)
        if service is not None:
            request[prompts_api.SERVICE] = service
        elif user is not None:
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
        kind,
        user_id=token.user_id,
        address=address,
        service_id=token.service_id,
        token_id=token.id,
        detail=state.value,
    )
    await Audit(db).record(
        "token_refused",
        user_id=token.user_id,
        service_id=token.service_id,
        subject=f"token {token.id}",
        address=address,
        detail=state.value,
    )


_NOTIFY_KEY = (
    "a key in GOV.UK Notify's format is not a bearer token: a Notify client signs a JWT with it "
    "for /v2/received-text-messages; use a service token here"
)

_WRONG_KIND = {
    True: "the prompts API takes a service token: `inbound tokens add --service ID` makes one",
    False: "a service token may call its service's prompts API (/api/prompts) and received "
    "texts (/api/received-text-messages) only",
}


async def _wrong_kind(
    request: web.Request, db: AsyncSession, token: ApiToken, for_service: bool
) -> None:
    """A working token used where its kind may not go: audited, since a service token reaching
    for the queue (people's messages) is worth an administrator's look."""
    await Audit(db).record(
        "token_refused",
        user_id=token.user_id,
        service_id=token.service_id,
        subject=f"token {token.id}",
        address=client_address(request),
        detail=f"{'personal' if for_service else 'service'} token on {request.method} "
        f"{request.path}"[:500],
    )


def _invalid(status: int, field: str, message: str) -> web.Response:
    """A refusal that names the parameter or body field at fault."""
    body = {"error": {"code": "invalid", "message": f"{field}: {message}", "field": field}}
    return web.json_response(body, status=status)


def _item_json(item: Any, message: Any, reference: str | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "service": item.service_id,
        "reason": item.reason,
        "rule": item.rule,
        "state": item.state,
        "created_at": item.created_at.isoformat(),
        "claimed_by": item.claimed_by,
        "decision": item.decision,
        "prompt_reference": reference,
        "message": {
            "provider": message.provider,
            "id": message.provider_message_id,
            "from": phone.mask(message.sender),
            "text": message.text,
            "received_at": message.received_at.isoformat(),
        },
    }


MINE = {"": False, "0": False, "false": False, "1": True, "true": True}


async def queue(request: web.Request) -> web.StreamResponse:
    scope: Scope = request[SCOPE]
    query = request.query
    state, mine = query.get("state", ""), query.get("mine", "")
    if state and state not in STATES:
        return _invalid(400, "state", f"one of {', '.join(STATES)}")
    if mine not in MINE:
        return _invalid(400, "mine", "true or false")
    try:
        wanted = QueueFilter(
            service=parameters.service(query.get("service", "")),
            reason=parameters.search(query.get("reason", ""), "reason"),
            states=(state,) if state else (),
            mine=MINE[mine],
            text=parameters.search(query.get("q", ""), "q"),
            after=parameters.parse_cursor(query.get("after", "")),
        )
    except BadParameter as bad:
        return _invalid(400, bad.name, bad.why)
    try:
        shown = await request.app[DESK].queue(scope, wanted, request.remote)
    except NotFound:
        return _error(404, "not_found", "no such service among yours")
    page = shown.page
    next_after = parameters.cursor(page.next_after) if page.next_after is not None else None
    return web.json_response(
        {
            "items": [
                _item_json(row.item, row.message, shown.reference(row.message)) for row in page.rows
            ],
            "counts": page.counts,
            "next_after": next_after,
        }
    )


def _item_id(request: web.Request) -> int:
    found = parameters.item_id(request.match_info["item"])
    if found is None:
        raise NotFound
    return found


def _reply_json(detail: ItemDetail) -> dict[str, Any]:
    """Whether the sender can be texted now, and the limits a reply must keep to."""
    room = detail.replies
    return {
        "allowed": detail.reply_refusal is None,
        "refusal": detail.reply_refusal,
        "sent_last_hour": room.sent,
        "cap_per_hour": room.cap,
        "next_at": room.next_at.isoformat() if room.next_at else None,
        "max_segments": MAX_REPLY_SEGMENTS,
        "max_characters": MAX_REPLY,
        "max_characters_ucs2": MAX_REPLY_UCS2,
        # Filled for this item; send one by name: {"canned": "<name>"} instead of "text".
        "canned": [{"name": one.name, "text": one.text} for one in detail.canned],
        "canned_only": detail.canned_only,
    }


async def item(request: web.Request) -> web.StreamResponse:
    try:
        detail = await request.app[DESK].view(request[SCOPE], _item_id(request), request.remote)
    except NotFound:
        return _error(404, "not_found", "no such item")
    view = detail.view
    reference = next(
        (
            entry.reference
            for entry in detail.conversation.entries
            if entry.kind is EntryKind.RECEIVED and entry.message_id == view.message.id
        ),
        None,
    )
    body = _item_json(view.item, view.message, reference)
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
    body["reply"] = _reply_json(detail)
    return web.json_response(body)


def _stamp(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _entry_json(entry: Entry) -> dict[str, Any]:
    """One line of a conversation; every field present, null where it doesn't apply."""
    return {
        "kind": entry.kind.value,
        "at": entry.at.isoformat(),
        "text": entry.text,
        "text_missing": entry.missing_text if entry.text is None else None,
        "reference": entry.reference,
        "message_id": entry.message_id,
        "item_id": entry.item_id,
        "action": entry.action,
        "rule": entry.rule,
        "delivery": entry.delivery,
        "by": entry.by,
        "note": entry.note,
        "expects": list(entry.expects),
        "expires_at": _stamp(entry.expires_at),
    }


def _open_prompt_json(prompt: OpenPrompt) -> dict[str, Any]:
    return {
        "reference": prompt.reference,
        "expects": list(prompt.expects),
        "sent_at": prompt.sent_at.isoformat(),
        "expires_at": prompt.expires_at.isoformat(),
        "expired": prompt.expired,
    }


async def conversation(request: web.Request) -> web.StreamResponse:
    """The thread of an item's service with its sender: prompts, replies both ways, outcomes
    and decisions, oldest first (the newest 200), and the prompts still open."""
    try:
        found = await request.app[DESK].conversation(
            request[SCOPE], _item_id(request), request.remote
        )
    except NotFound:
        return _error(404, "not_found", "no such item")
    thread = found.conversation
    return web.json_response(
        {
            "item": found.item_id,
            "service": found.service_id,
            "number": phone.mask(found.number),
            "entries": [_entry_json(entry) for entry in thread.entries],
            "more": thread.more,
            "limit": thread.limit,
            "open_prompts": [_open_prompt_json(prompt) for prompt in thread.open_prompts],
        }
    )


class _BodyInvalid(Exception):
    """A JSON body field of the wrong type."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(why)
        self.field = field


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise _BodyInvalid(name, "a string")
    return value


def _reply(body: dict[str, Any]) -> ReplyChoice | None:
    """The reply in a body: its own `text` or the `canned` reply of that name; None for none."""
    canned, text = _string(body, "canned"), _string(body, "text")
    return ReplyChoice(canned, text) if canned or text else None


def _captures(body: dict[str, Any]) -> dict[str, str]:
    if "captures" not in body:
        return {}
    captures = body["captures"]
    if not isinstance(captures, dict) or not all(isinstance(v, str) for v in captures.values()):
        raise _BodyInvalid("captures", "an object of strings")
    return {k: v for k, v in captures.items() if k in CAPTURES}


ACTIONS = ("claim", "release", "decide", "reply", "dismiss", "note")


async def act(request: web.Request) -> web.StreamResponse:
    scope: Scope = request[SCOPE]
    desk = request.app[DESK]
    what = request.match_info["action"]
    if what not in ACTIONS:
        return _error(404, "not_found", "no such operation")
    try:
        body = await request.json() if request.can_read_body else {}
    except (ValueError, LookupError, RecursionError):
        # ValueError: not JSON, or not in its charset; LookupError: an unknown charset;
        # RecursionError: nesting deeper than the parser goes.
        return _error(400, "bad_json", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(422, "invalid", "send a JSON object")
    try:
        item_id = _item_id(request)
        if what == "claim":
            await desk.claim(scope, item_id, request.remote)
        elif what == "release":
            await desk.release(scope, item_id, request.remote)
        elif what == "decide":
            action = _string(body, "action")
            await desk.decide(
                scope, item_id, action, _captures(body), request.remote, reply=_reply(body)
            )
        elif what == "reply":
            chosen = _reply(body) or ReplyChoice("", "")
            await desk.reply(scope, item_id, chosen.text, request.remote, canned=chosen.canned)
        elif what == "dismiss":
            await desk.dismiss(scope, item_id, _string(body, "reason"), request.remote)
        else:
            await desk.note(scope, item_id, _string(body, "text"), request.remote)
    except _BodyInvalid as wrong:
        return _invalid(422, wrong.field, str(wrong))
    except NotFound:
        return _error(404, "not_found", "no such item")
    except Invalid as invalid:
        return _error(422, "invalid", str(invalid))
    except Refused as refused:
        return _error(409, "conflict", str(refused))
    return web.json_response({"status": "ok", "item": item_id, "done": what})


def api_app(
    desk: Desk,
    received: received_texts_api.ReceivedTextsState | None = None,
    rules_folder: Path = Path("rules"),
) -> web.Application:
    """The API as an application mounted at /api (`received`: what the received-texts API
    needs beyond the desk; without it, keys in Notify's format are refused)."""
    app = web.Application(middlewares=[bearer])
    app[DESK] = desk
    app.router.add_get("/queue", queue)
    app.router.add_get("/items/{item}", item)
    app.router.add_get("/conversations/{item}", conversation)
    app.router.add_post("/items/{item}/{action}", act)
    prompts_api.add_routes(app, desk)
    received = received or received_texts_api.ReceivedTextsState(desk, None)
    received_texts_api.add_routes(app, received)
    add_suggestion_routes(app, desk)
    rules_api.add_routes(app, ManagedRules(desk.sessions, rules_folder), SCOPE)
    return app
