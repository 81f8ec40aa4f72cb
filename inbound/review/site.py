"""The review site's plumbing, shared by the sign-in and the pages: what each request carries,
the three middlewares (headers, the server-side session, CSRF), and rendering."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from inbound import forwarded, phone
from inbound.config import Settings
from inbound.managed_rules import ManagedRules
from inbound.review import auth, forms
from inbound.review.desk import Desk
from inbound.review.forms import FormInvalid
from inbound.review.reasons import reason_in_words
from inbound.store.models import User, WebSession
from inbound.store.users import Scope, Users, WebSessions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HERE = Path(__file__).parent
SESSION_COOKIE = "inbound_session"
CSRF_COOKIE = "inbound_csrf"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Web:
    """What the pages need, built once per process."""

    desk: Desk
    settings: Settings
    templates: jinja2.Environment
    managed: ManagedRules  # the rules' drafts, versions and publishing (issue 18)


WEB = web.AppKey("review_web", Web)
SESSION: web.RequestKey[WebSession | None] = web.RequestKey("session", WebSession)
USER = web.RequestKey("user", User)
SCOPE = web.RequestKey("scope", Scope)
PRE_CSRF = web.RequestKey("pre_csrf", str)
# Services nobody can work the queue of, for a platform admin's pages (`_no_caseworker.html`).
WITHOUT_CASEWORKER: web.RequestKey[tuple[str, ...]] = web.RequestKey("without_caseworker")
# INBOUND_TRUSTED_PROXIES, parsed; on the app that mounts /review and /api, so both see it.
TRUSTED_PROXIES: web.AppKey[tuple[forwarded.Network, ...]] = web.AppKey("trusted_proxies")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["age"] = age
    env.filters["mask"] = phone.mask
    env.filters["in_words"] = reason_in_words
    return env


def age(when: datetime) -> str:
    minutes = int((datetime.now(UTC) - when).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} days"


def client_address(request: web.Request) -> str | None:
    """The address of the person making the request, for the audit log and sign-in throttling:
    the peer, or behind a proxy in INBOUND_TRUSTED_PROXIES the hop it put in X-Forwarded-For."""
    trusted = request.config_dict.get(TRUSTED_PROXIES, ())
    return forwarded.client_address(
        request.remote, request.headers.getall("X-Forwarded-For", []), trusted
    )


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
    """Load the server-side session named by the cookie (if live, and its user not disabled)
    into the request."""
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
                if user.disabled_at is not None:
                    # Disabling ends sessions in the same transaction; this refuses any that a
                    # sign-in in flight created afterwards.
                    await WebSessions(db).end(found.id)
                else:
                    request[SESSION] = found
                    request[USER] = user
                    request[SCOPE] = await Users(db).scope(user)
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST is a form carrying the session's token (or, before sign-in, the cookie's).

    A body that can't be read as a form, or a field that isn't text (FormInvalid, here or from
    a handler), is a 400 page saying so, never a 500.
    """
    if request.method == "POST":
        try:
            if request.content_type not in FORM_TYPES:
                raise FormInvalid(None, "it was not sent as a form")
            given = forms.text(await forms.read_form(request), "csrf_token")
        except FormInvalid as invalid:
            return bad_form(request, invalid)
        session: WebSession | None = request[SESSION]
        # Sign-in has no session yet (or a stale one): it uses the double-submit cookie.
        pre = session is None or request.path == "/review/sign-in"
        expected = (
            request.cookies.get(CSRF_COOKIE) if pre or session is None else session.csrf_token
        )
        # Compared as bytes: compare_digest refuses a str that isn't ASCII (a 500 before).
        if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            return render(
                request, "error.html", 403, message="The form expired: go back and retry."
            )
    try:
        return await handler(request)
    except FormInvalid as invalid:
        return bad_form(request, invalid)


def bad_form(request: web.Request, invalid: FormInvalid) -> web.Response:
    """The 400 page for a form that wasn't sent as the page sends it."""
    message = f"The form was not sent as the page sends it: {invalid}."
    return render(request, "bad_request.html", 400, message=message)


# -- rendering --------------------------------------------------------------------------------


def render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    session: WebSession | None = request.get(SESSION)
    full = session is not None and session.stage == "full"
    context = {
        "user": request.get(USER) if full else None,
        "scope": request.get(SCOPE) if full else None,
        "csrf_token": session.csrf_token if session else request.get(PRE_CSRF, ""),
        "without_caseworker": request.get(WITHOUT_CASEWORKER, ()),
        "service_name": service_names(request),
        **values,
    }
    html = request.app[WEB].templates.get_template(name).render(context)
    return web.Response(text=html, status=status, content_type="text/html")


def service_names(request: web.Request) -> Callable[[str | None], str]:
    """A page's service names: the name in the service's rule file, its id when no rule file
    has it now, "Unassigned" for an item of no service."""
    rules = request.app[WEB].desk.rules()

    def name(service_id: str | None) -> str:
        if service_id is None:
            return "Unassigned"
        found = rules.service(service_id)
        return found.service.name if found is not None else service_id

    return name


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        secure=request.app[WEB].settings.cookie_secure,
        samesite="Strict",
    )


def signed_in(request: web.Request) -> Scope | None:
    session: WebSession | None = request[SESSION]
    if session is None or session.stage != "full":
        return None
    scope: Scope = request[SCOPE]
    return scope
