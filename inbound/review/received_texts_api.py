"""A drop-in for GOV.UK Notify's received-text-messages API, for services already coded
against it (issue 17): `GET /api/received-text-messages`, and the same at Notify's own path
`/v2/received-text-messages`, which Notify's clients call below their base URL.

Two credentials work: a service token as a bearer (`inbound tokens add --service S`), and a JWT
signed with a key in Notify's format (`inbound tokens add --service S --notify-key`), so that a
Notify client works by changing its base URL and key. Either fixes the service. Refusals are in
Notify's error shape (`inbound.notify_keys`), since Notify's clients parse it. Numbers are
given in full: a service's own machines read their own texts, as from Notify.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from inbound import notify_keys
from inbound.logs import get_logger
from inbound.notify_keys import NotifyAuthError, SignatureMismatch
from inbound.received_texts import PAGE_SIZE, ReceivedText, page_json, row_id
from inbound.review import auth
from inbound.review.desk import Desk
from inbound.review.secret_box import SealedWithUnknownKey, SecretBox
from inbound.review.security_events import Denied
from inbound.review.site import client_address
from inbound.review.token_state import TokenState, token_state, use_worth_recording
from inbound.store.models import ApiToken
from inbound.store.received_texts import Position, ReceivedTexts
from inbound.store.tokens import ApiTokens, facts
from inbound.store.users import Audit

_log = get_logger("api")

# inbound's own refusals, in Notify's words and shape.
UNKNOWN_TOKEN = NotifyAuthError(403, "Invalid token: API key not found")
PERSONAL_TOKEN = NotifyAuthError(
    403,
    "Invalid token: a personal token can't read received text messages: use a service token "
    "(inbound tokens add --service) or a Notify API key (--notify-key)",
)
KEY_AS_BEARER = NotifyAuthError(
    403,
    "Invalid token: a Notify API key is not sent itself: send a JWT signed with it, as "
    "Notify's clients do",
)
NO_SECRET_KEY = NotifyAuthError(
    403, "Invalid token: this server can't open Notify API keys (INBOUND_SECRET_KEY is not set)"
)


@dataclass(frozen=True)
class ReceivedTextsState:
    """What the handler needs: the desk, the box that opens keys' secrets (None when no
    INBOUND_SECRET_KEY or key file could be had: such keys are then refused, in words), and
    INBOUND_PUBLIC_URL for the links (behind a TLS proxy the request says http://)."""

    desk: Desk
    box: SecretBox | None
    public_url: str | None = None


STATE = web.AppKey("received_texts", ReceivedTextsState)


def _notify_error(status: int, error: str, message: str) -> web.Response:
    body = {"status_code": status, "errors": [{"error": error, "message": message}]}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def received_text_messages(request: web.Request) -> web.StreamResponse:
    """One page of the service's received texts, newest first, 250 at most."""
    state = request.app[STATE]
    try:
        service = await _authenticate(request, state)
    except NotifyAuthError as refused:
        return _notify_error(refused.status, "AuthError", refused.message)
    older_than: uuid.UUID | None = None
    raw = request.query.get("older_than")
    if raw is not None:
        try:
            older_than = uuid.UUID(raw)
        except ValueError:
            return _notify_error(400, "ValidationError", "older_than is not a valid UUID")
    async with state.desk.sessions() as session:
        store = ReceivedTexts(session)
        after: Position | None = None
        if older_than is not None:
            after = await store.position(
                service, row_id=row_id(older_than), notify_id=str(older_than)
            )
        # Notify answers an older_than it doesn't know with an empty page; so does this.
        texts: list[ReceivedText] = []
        if older_than is None or after is not None:
            texts = await store.page(service, after, PAGE_SIZE)
    _log.info("received_texts_read", service=service, count=len(texts))
    base = _public(state, request)
    current = f"{base}?{request.query_string}" if request.query_string else base
    body = page_json(texts, current, base)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _public(state: ReceivedTextsState, request: web.Request) -> str:
    """The URL of this endpoint as the client called it (no query)."""
    if state.public_url:
        return state.public_url.rstrip("/") + request.path
    return str(request.url.with_query(None))


async def _authenticate(request: web.Request, state: ReceivedTextsState) -> str:
    """The service the request is for; NotifyAuthError (in Notify's words) if none."""
    header = request.headers.get("Authorization")
    if not header:
        raise notify_keys.MISSING
    if header[:7].title() != "Bearer ":  # Notify's own test, to the letter
        raise notify_keys.NOT_BEARER
    token = header[7:].strip()
    now = datetime.now(UTC)
    async with state.desk.sessions.begin() as db:
        if notify_keys.looks_like_jwt(token):
            row = await _signed_with(db, token, state.box)
        else:
            row = await _service_token(db, token)
        refusal = _refusal(row, now)
        if refusal is not None:
            await _refused(request, db, row, refusal)  # committed: raised below, not here
        elif use_worth_recording(row.last_used_at, now):
            await ApiTokens(db).record_use(row.id, now)
    if refusal is not None:
        raise refusal
    assert row.service_id is not None  # a service token or key: _refusal checked
    return row.service_id


async def _service_token(db: AsyncSession, token: str) -> ApiToken:
    presented = await ApiTokens(db).presented(auth.token_hash(token), datetime.now(UTC))
    row = presented.token
    if row is None:
        raise UNKNOWN_TOKEN
    if row.notify_issuer is not None:
        raise KEY_AS_BEARER
    if row.service_id is None:
        raise PERSONAL_TOKEN
    return row


async def _signed_with(db: AsyncSession, token: str, box: SecretBox | None) -> ApiToken:
    """The key whose secret signed this JWT, as Notify finds it: by the issuer, then each of
    the service's keys in turn."""
    issuer = notify_keys.issuer(token)
    keys = await ApiTokens(db).notify_keys(str(issuer))
    if not keys:
        raise notify_keys.NO_SERVICE
    if box is None:
        raise NO_SECRET_KEY
    now = int(time.time())
    for key in keys:
        try:
            secret = box.open(key.notify_secret or "")
        except SealedWithUnknownKey:
            # INBOUND_SECRET_KEY changed without keeping the old key after it: the key can't
            # be checked, and the operator must hear of it.
            _log.error("notify_key_unreadable", token_id=key.id, service=key.service_id)
            continue
        try:
            notify_keys.verify(token, secret, now)
        except SignatureMismatch:
            continue
        return key
    raise notify_keys.BAD_SIGNATURE


def _refusal(row: ApiToken, now: datetime) -> NotifyAuthError | None:
    """Why a found key or service token may not be used now, if it may not."""
    state = token_state(facts(row, None), now)
    if state is TokenState.EXPIRED:
        return notify_keys.EXPIRED_KEY
    if state is not TokenState.ACTIVE:
        return notify_keys.REVOKED
    return None


async def _refused(
    request: web.Request, db: AsyncSession, row: ApiToken, refusal: NotifyAuthError
) -> None:
    """A key or token that exists but no longer works: a security event and an audit row, as
    for the rest of the API."""
    address = client_address(request)
    expired = refusal is notify_keys.EXPIRED_KEY
    request.app[STATE].desk.events.access_denied(
        Denied.EXPIRED_TOKEN if expired else Denied.REVOKED_TOKEN,
        user_id=None,
        address=address,
        service_id=row.service_id,
        token_id=row.id,
        detail="expired" if expired else "revoked",
    )
    await Audit(db).record(
        "token_refused",
        service_id=row.service_id,
        subject=f"token {row.id}",
        address=address,
        detail=f"{'expired' if expired else 'revoked'}; received texts",
    )


def add_routes(app: web.Application, state: ReceivedTextsState) -> None:
    """Add `/received-text-messages` to an app (the API at /api, or the /v2 app)."""
    app[STATE] = state
    app.router.add_get("/received-text-messages", received_text_messages)


def notify_app(state: ReceivedTextsState) -> web.Application:
    """The app mounted at /v2: Notify's path, for Notify's clients pointed at inbound."""
    app = web.Application()
    add_routes(app, state)
    return app


# Authenticated here, in Notify's shape, not by the API's bearer middleware.
OWN_AUTH = frozenset({received_text_messages})
