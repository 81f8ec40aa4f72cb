"""Signing in to the review pages: password, then a TOTP code (enrolling one the first time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from inbound.review import auth
from inbound.review.site import (
    CSRF_COOKIE,
    PRE_CSRF,
    SESSION,
    SESSION_COOKIE,
    USER,
    WEB,
    client_address,
    redirect,
    render,
    set_cookie,
)
from inbound.store.models import User, WebSession
from inbound.store.users import Audit, Users, WebSessions

THROTTLE_WINDOW = timedelta(minutes=15)
SIGN_IN_FAILED = "Sign-in failed: check your email address, password and code, and try again."


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(CSRF_COOKIE) or auth.new_token()
    request[PRE_CSRF] = token
    request[SESSION] = None  # a sign-in page starts from nothing
    response = render(request, "sign_in.html", error=None)
    set_cookie(request, response, CSRF_COOKIE, token)
    return response


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = str(form.get("email", "")).strip().lower()[:254]
    password = str(form.get("password", ""))
    the_web = request.app[WEB]
    address = client_address(request) or "-"
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
        return render(request, "sign_in.html", 401, error=SIGN_IN_FAILED)
    response = redirect("/review/two-factor" if pending is None else "/review/enrol")
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


def _half_signed_in(request: web.Request) -> WebSession | None:
    session: WebSession | None = request[SESSION]
    return session if session is not None and session.stage == "password" else None


async def two_factor_form(request: web.Request) -> web.StreamResponse:
    if _half_signed_in(request) is None:
        return redirect("/review/sign-in")
    return render(request, "two_factor.html", error=None)


async def enrol_form(request: web.Request) -> web.StreamResponse:
    session = _half_signed_in(request)
    if session is None or session.totp_pending is None:
        return redirect("/review/sign-in")
    return render(request, "enrol.html", secret=session.totp_pending, error=None)


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
        return redirect("/review/sign-in")
    form = await request.post()
    code = str(form.get("code", ""))
    the_web = request.app[WEB]
    address = client_address(request) or "-"
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
            return render(
                request, "enrol.html", 401, secret=session.totp_pending, error="Wrong code"
            )
        return render(request, "two_factor.html", 401, error=SIGN_IN_FAILED)
    response = redirect("/review/")
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    session: WebSession | None = request[SESSION]
    if session is not None:
        async with request.app[WEB].desk.sessions.begin() as db:
            await WebSessions(db).end(session.id)
            await Audit(db).record(
                "sign_out", user_id=session.user_id, address=client_address(request)
            )
    response = redirect("/review/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def add_sign_in_routes(app: web.Application) -> None:
    """The sign-in routes, relative to the /review prefix."""
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_get("/two-factor", two_factor_form)
    app.router.add_post("/two-factor", second_factor)
    app.router.add_get("/enrol", enrol_form)
    app.router.add_get("/enrol/qr.svg", enrol_qr)
    app.router.add_post("/enrol", second_factor)
    app.router.add_post("/sign-out", sign_out)
