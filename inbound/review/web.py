"""The review queue's web pages (/review/): sign-in with TOTP, the queue, an item, the rules.

Handlers only translate HTTP into Desk calls. Security lives in three middlewares: headers (CSP,
no-store), the session (server-side, timed out), and CSRF on every POST.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from inbound import phone
from inbound.config import Settings
from inbound.review import auth
from inbound.review.decisions import CAPTURES, DECISIONS, Refused
from inbound.review.desk import Desk, NotFound
from inbound.rules.match import Matcher
from inbound.store.models import User, WebSession
from inbound.store.review import STATES, QueueFilter
from inbound.store.users import Audit, Scope, Users, WebSessions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HERE = Path(__file__).parent
SESSION_COOKIE = "inbound_session"
CSRF_COOKIE = "inbound_csrf"
THROTTLE_WINDOW = timedelta(minutes=15)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SIGN_IN_FAILED = "Sign-in failed: check your email address, password and code, and try again."


@dataclass(frozen=True)
class Web:
    """What the pages need, built once per process."""

    desk: Desk
    settings: Settings
    templates: jinja2.Environment


WEB = web.AppKey("review_web", Web)
SESSION: web.RequestKey[WebSession | None] = web.RequestKey("session", WebSession)
USER = web.RequestKey("user", User)
SCOPE = web.RequestKey("scope", Scope)
PRE_CSRF = web.RequestKey("pre_csrf", str)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["age"] = _age
    env.filters["mask"] = phone.mask
    return env


def _age(when: datetime) -> str:
    minutes = int((datetime.now(UTC) - when).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} days"


def _address(request: web.Request) -> str | None:
    return request.remote


# -- middlewares ------------------------------------------------------------------------------


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Strict CSP everywhere; pages (which show messages) are never cached."""
    response = await handler(request)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/review/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the server-side session named by the cookie (if live) into the request."""
    token = request.cookies.get(SESSION_COOKIE)
    request[SESSION] = None
    if token:
        settings = request.app[WEB].settings
        async with request.app[WEB].desk.sessions.begin() as db:
            found = await WebSessions(db).live(
                auth.token_hash(token),
                timedelta(minutes=settings.session_idle_minutes),
                timedelta(hours=settings.session_max_hours),
            )
            if found is not None:
                user = await Users(db).get(found.user_id)
                assert user is not None
                request[SESSION] = found
                request[USER] = user
                request[SCOPE] = await Users(db).scope(user)
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries the session's token (or, before sign-in, the cookie's)."""
    if request.method == "POST":
        form = await request.post()
        given = str(form.get("csrf_token", ""))
        session: WebSession | None = request[SESSION]
        # Sign-in has no session yet (or a stale one): it uses the double-submit cookie.
        pre = session is None or request.path == "/review/sign-in"
        expected = (
            request.cookies.get(CSRF_COOKIE) if pre or session is None else session.csrf_token
        )
        if not expected or not given or not hmac.compare_digest(given, expected):
            return _page(request, "error.html", 403, message="The form expired: go back and retry.")
    return await handler(request)


# -- rendering --------------------------------------------------------------------------------


def _page(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    session: WebSession | None = request.get(SESSION)
    full = session is not None and session.stage == "full"
    context = {
        "user": request.get(USER) if full else None,
        "scope": request.get(SCOPE) if full else None,
        "csrf_token": session.csrf_token if session else request.get(PRE_CSRF, ""),
        **values,
    }
    html = request.app[WEB].templates.get_template(name).render(context)
    return web.Response(text=html, status=status, content_type="text/html")


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        secure=request.app[WEB].settings.cookie_secure,
        samesite="Strict",
    )


def _signed_in(request: web.Request) -> Scope | None:
    session: WebSession | None = request[SESSION]
    if session is None or session.stage != "full":
        return None
    scope: Scope = request[SCOPE]
    return scope


# -- sign-in ----------------------------------------------------------------------------------


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(CSRF_COOKIE) or auth.new_token()
    request[PRE_CSRF] = token
    request[SESSION] = None  # a sign-in page starts from nothing
    response = _page(request, "sign_in.html", error=None)
    _set_cookie(request, response, CSRF_COOKIE, token)
    return response


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = str(form.get("email", "")).strip().lower()[:254]
    password = str(form.get("password", ""))
    the_web = request.app[WEB]
    address = _address(request) or "-"
    async with the_web.desk.sessions.begin() as db:
        audit = Audit(db)
        by_account, by_address = await audit.failures_since(
            email, address, datetime.now(UTC) - THROTTLE_WINDOW
        )
        limit = the_web.settings.sign_in_limit
        user = await Users(db).by_email(email)
        throttled = by_account >= limit or by_address >= 4 * limit
        ok = auth.check_password(user.password_hash if user else None, password)
        if throttled or not ok or user is None:
            await audit.record(
                "sign_in_failed",
                subject=email,
                address=address,
                detail="throttled" if throttled else "password",
            )
            failed = True
        else:
            failed = False
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                await WebSessions(db).end(auth.token_hash(old))
            token = auth.new_token()
            pending = None if user.totp_secret else auth.new_totp_secret()
            await WebSessions(db).create(
                auth.token_hash(token), user.id, "password", auth.new_token(), pending
            )
            await audit.record("sign_in_password", user_id=user.id, address=address)
    if failed:
        request[PRE_CSRF] = request.cookies.get(CSRF_COOKIE, "")
        return _page(request, "sign_in.html", 401, error=SIGN_IN_FAILED)
    response = _redirect("/review/two-factor" if pending is None else "/review/enrol")
    _set_cookie(request, response, SESSION_COOKIE, token)
    return response


def _half_signed_in(request: web.Request) -> WebSession | None:
    session: WebSession | None = request[SESSION]
    return session if session is not None and session.stage == "password" else None


async def two_factor_form(request: web.Request) -> web.StreamResponse:
    if _half_signed_in(request) is None:
        return _redirect("/review/sign-in")
    return _page(request, "two_factor.html", error=None)


async def enrol_form(request: web.Request) -> web.StreamResponse:
    session = _half_signed_in(request)
    if session is None or session.totp_pending is None:
        return _redirect("/review/sign-in")
    return _page(request, "enrol.html", secret=session.totp_pending, error=None)


async def enrol_qr(request: web.Request) -> web.StreamResponse:
    session = _half_signed_in(request)
    if session is None or session.totp_pending is None:
        return web.Response(status=404)
    user: User = request[USER]
    svg = auth.totp_qr_svg(session.totp_pending, user.email)
    return web.Response(text=svg, content_type="image/svg+xml")


async def second_factor(request: web.Request) -> web.StreamResponse:
    """Check the code (enrolment or sign-in); on success start a fresh, full session."""
    session = _half_signed_in(request)
    if session is None:
        return _redirect("/review/sign-in")
    form = await request.post()
    code = str(form.get("code", ""))
    the_web = request.app[WEB]
    address = _address(request) or "-"
    async with the_web.desk.sessions.begin() as db:
        user = await Users(db).get(session.user_id)
        assert user is not None
        audit = Audit(db)
        by_account, _ = await audit.failures_since(
            user.email, address, datetime.now(UTC) - THROTTLE_WINDOW
        )
        secret = session.totp_pending or user.totp_secret
        if by_account >= the_web.settings.sign_in_limit or not auth.check_totp(secret, code):
            await audit.record("sign_in_failed", subject=user.email, address=address, detail="code")
            ok = False
        else:
            ok = True
            if session.totp_pending is not None:
                user.totp_secret = session.totp_pending
                await audit.record("totp_enrolled", user_id=user.id, address=address)
            await WebSessions(db).end(session.id)
            token = auth.new_token()
            await WebSessions(db).create(auth.token_hash(token), user.id, "full", auth.new_token())
            await audit.record("sign_in", user_id=user.id, address=address)
    if not ok:
        if session.totp_pending is not None:
            return _page(
                request, "enrol.html", 401, secret=session.totp_pending, error="Wrong code"
            )
        return _page(request, "two_factor.html", 401, error=SIGN_IN_FAILED)
    response = _redirect("/review/")
    _set_cookie(request, response, SESSION_COOKIE, token)
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    session: WebSession | None = request[SESSION]
    if session is not None:
        async with request.app[WEB].desk.sessions.begin() as db:
            await WebSessions(db).end(session.id)
            await Audit(db).record("sign_out", user_id=session.user_id, address=_address(request))
    response = _redirect("/review/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


# -- the queue and an item --------------------------------------------------------------------


def _filter(query: Any, scope: Scope) -> QueueFilter:
    state = query.get("state", "")
    after = None
    cursor = query.get("after", "")
    if cursor:
        try:
            stamp, _, last = cursor.partition("_")
            after = (datetime.fromtimestamp(int(stamp) / 1_000_000, UTC), int(last))
        except ValueError:
            after = None
    return QueueFilter(
        service=query.get("service") or None,
        reason=(query.get("reason") or "").strip()[:200] or None,
        states=(state,) if state in STATES else (),
        mine=query.get("mine") == "1",
        text=(query.get("q") or "").strip()[:200] or None,
        after=after,
    )


def cursor(after: tuple[datetime, int]) -> str:
    stamp = int(after[0].timestamp() * 1_000_000)
    return f"{stamp}_{after[1]}"


async def queue_page(request: web.Request) -> web.StreamResponse:
    scope = _signed_in(request)
    if scope is None:
        return _redirect("/review/sign-in")
    wanted = _filter(request.query, scope)
    try:
        page = await request.app[WEB].desk.queue(scope, wanted, _address(request))
    except NotFound:
        return _page(request, "not_found.html", 404)
    next_query = None
    if page.next_after is not None:
        params = {k: v for k, v in request.query.items() if k != "after"}
        params["after"] = cursor(page.next_after)
        next_query = "&".join(f"{k}={_quote(v)}" for k, v in params.items())
    return _page(
        request, "queue.html", page=page, wanted=wanted, next_query=next_query, states=STATES
    )


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _item_id(request: web.Request) -> int | None:
    raw = request.match_info["item"]
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


async def item_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    scope = _signed_in(request)
    if scope is None:
        return _redirect("/review/sign-in")
    item_id = _item_id(request)
    try:
        if item_id is None:
            raise NotFound
        view = await request.app[WEB].desk.view(scope, item_id, _address(request))
    except NotFound:
        return _page(request, "not_found.html", 404)
    return _page(
        request,
        "item.html",
        status,
        view=view,
        error=error,
        decisions=DECISIONS,
        captures=CAPTURES,
        mine=view.item.claimed_by == scope.user_id,
        done=request.query.get("done"),
    )


async def item_action(request: web.Request) -> web.StreamResponse:
    scope = _signed_in(request)
    if scope is None:
        return _redirect("/review/sign-in")
    item_id = _item_id(request)
    if item_id is None:
        return _page(request, "not_found.html", 404)
    what = request.match_info["action"]
    form = await request.post()
    desk, address = request.app[WEB].desk, _address(request)
    try:
        if what == "claim":
            await desk.claim(scope, item_id, address)
        elif what == "release":
            await desk.release(scope, item_id, address)
        elif what == "decide":
            captures = {name: str(form.get(name, "")) for name in CAPTURES}
            await desk.decide(scope, item_id, str(form.get("decision", "")), captures, address)
        elif what == "reply":
            await desk.reply(scope, item_id, str(form.get("text", "")), address)
        elif what == "dismiss":
            await desk.dismiss(scope, item_id, str(form.get("reason", "")), address)
        elif what == "note":
            await desk.note(scope, item_id, str(form.get("text", "")), address)
        else:
            return _page(request, "not_found.html", 404)
    except NotFound:
        return _page(request, "not_found.html", 404)
    except Refused as refused:
        return await item_page(request, error=str(refused), status=409)
    return _redirect(f"/review/items/{item_id}?done={what}")


# -- rules ------------------------------------------------------------------------------------


async def rules_page(request: web.Request) -> web.StreamResponse:
    scope = _signed_in(request)
    if scope is None:
        return _redirect("/review/sign-in")
    service_id = request.match_info["service"]
    desk = request.app[WEB].desk
    service = desk.rules().book.services.get(service_id)
    async with desk.sessions.begin() as db:
        if service is None or not scope.is_admin_of(service_id):
            await Audit(db).record(
                "denied",
                user_id=scope.user_id,
                service_id=service_id,
                detail="rules",
                address=_address(request),
            )
            return _page(request, "not_found.html", 404)
        await Audit(db).record(
            "view_rules", user_id=scope.user_id, service_id=service_id, address=_address(request)
        )
    decision, text = None, ""
    if request.method == "POST":
        form = await request.post()
        text = str(form.get("text", ""))[:1000]
        decision = Matcher(service).decide(text)
    return _page(request, "rules.html", service=service, decision=decision, text=text)


def add_routes(app: web.Application) -> None:
    """Routes relative to the /review prefix the application is mounted at."""
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_get("/two-factor", two_factor_form)
    app.router.add_post("/two-factor", second_factor)
    app.router.add_get("/enrol", enrol_form)
    app.router.add_get("/enrol/qr.svg", enrol_qr)
    app.router.add_post("/enrol", second_factor)
    app.router.add_post("/sign-out", sign_out)
    app.router.add_get("/", queue_page)
    app.router.add_get("/items/{item}", item_page)
    app.router.add_post("/items/{item}/{action}", item_action)
    app.router.add_get("/services/{service}/rules", rules_page)
    app.router.add_post("/services/{service}/rules", rules_page)
    app.router.add_static("/static/", HERE / "static")


def review_app(desk: Desk, settings: Settings) -> web.Application:
    """The pages as an application of their own, mounted at /review, with its middlewares."""
    app = web.Application(middlewares=[security_headers, sessions, csrf])
    app[WEB] = Web(desk, settings, templates())
    add_routes(app)
    return app
