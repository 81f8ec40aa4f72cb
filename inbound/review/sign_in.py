"""Signing in to the review pages: password, then a TOTP code (enrolling one the first time).

Each attempt is first weighed against the recent failures of its account and its client address
(`throttle.py`); one that must wait is told how long, and nothing is checked. Passwords are
checked in a small thread pool (`password_checks.py`), never on the event loop. A code is used
once (users.totp_last_step), and a pending enrolment never replaces a confirmed key: confirming
one ends every other half-signed-in session of the user.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

from inbound.logs import get_logger
from inbound.review import auth, decisions, forms, throttle
from inbound.review.forms import Form, FormInvalid
from inbound.review.password_checks import PasswordChecks, TooBusy
from inbound.review.secret_box import (
    SealedWithUnknownKey,
    SecretBox,
    SecretKeyError,
    box_for,
)
from inbound.review.security_events import SecurityEvents, SignInRefusal
from inbound.review.site import (
    CSRF_COOKIE,
    PRE_CSRF,
    SESSION,
    SESSION_COOKIE,
    TRUSTED_PROXIES,
    USER,
    WEB,
    client_address,
    redirect,
    render,
    set_cookie,
)
from inbound.review.throttle import SignInPolicy
from inbound.store.models import User, WebSession
from inbound.store.two_factor import TwoFactorKeys
from inbound.store.users import Audit, Users, WebSessions

SIGN_IN_FAILED = "Sign-in failed: check your email address, password and code, and try again."
STALE_ENROLMENT = (
    "Two-factor sign-in was set up for this account from another page meanwhile: sign in again "
    "and enter the code from the app you set up then."
)
TOO_BUSY = "Too many people are signing in at this moment. Try again in a few seconds."
UNREADABLE_KEY = (
    "Your two-factor key can't be read with this server's INBOUND_SECRET_KEY. Tell your "
    "administrator; nothing you type will fix it."
)
REFUSED_CODE = {
    SignInRefusal.CODE: SIGN_IN_FAILED,
    SignInRefusal.CODE_REUSED: "That code was used already: wait for the next one in your app.",
}
# The longest a field of these forms can be; longer is a 400. An email address is at most 254
# characters (RFC 5321); a password longer than 1,024 is not a password but a cost to hash.
LONGEST = {"email": 254, "password": 1024, "code": 16}
BUSY_RETRY_SECONDS = 5

_log = get_logger("sign_in")


class InFlight:
    """Attempts admitted and not yet settled, per throttle key, in this process.

    Counted as failures when the next attempt is weighed, so guesses sent all at once can't each
    slip in under the limit before the first is recorded. Admitting is synchronous (no await
    between reading the count and adding to it); another process can admit one concurrent
    attempt of its own, no more.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, key: str) -> int:
        return self._counts[key]

    def add(self, keys: tuple[str, ...]) -> None:
        self._counts.update(keys)

    def remove(self, keys: tuple[str, ...]) -> None:
        self._counts.subtract(keys)
        for key in keys:
            if self._counts[key] <= 0:
                del self._counts[key]


@dataclass
class SignIn:
    """What the sign-in pages keep for the life of the process."""

    box: SecretBox
    policy: SignInPolicy
    checks: PasswordChecks = field(default_factory=PasswordChecks)
    in_flight: InFlight = field(default_factory=InFlight)


SIGN_IN = web.AppKey("sign_in", SignIn)


def _keys(subject: str, address: str) -> tuple[str, ...]:
    """The throttle keys of an attempt: its account name and its client address."""
    return (f"account:{subject}", f"address:{address}")


def _field(form: Form, name: str) -> str:
    value = forms.text(form, name)
    if len(value) > LONGEST[name]:
        raise FormInvalid(name, f"is longer than {LONGEST[name]} characters")
    # No one types a control character; PostgreSQL refuses a NUL in text outright, so an email
    # with one would fail the account lookup instead of failing to sign in.
    found = decisions.control_character(value)
    if found is not None:
        raise FormInvalid(name, f"contains {found}, which can't be typed")
    return value


def _events(request: web.Request) -> SecurityEvents:
    return request.app[WEB].desk.events


async def _admit(
    request: web.Request, subject: str, user_id: int | None, address: str
) -> timedelta:
    """How long this attempt must wait (recorded as `sign_in_throttled`); NO_WAIT admits it,
    counted in flight until the caller removes its keys."""
    state = request.app[SIGN_IN]
    policy, in_flight, keys = state.policy, state.in_flight, _keys(subject, address)
    now, admitted = datetime.now(UTC), False
    try:
        async with request.app[WEB].desk.sessions.begin() as db:
            audit = Audit(db)
            account = await audit.account_failures(subject, user_id, now - policy.account.window)
            from_address = await audit.address_failures(address, now - policy.address.window)
            waiting = throttle.sign_in_wait(
                policy,
                account.with_pending(in_flight.count(keys[0]), now),
                from_address.with_pending(in_flight.count(keys[1]), now),
                now,
            )
            if waiting:
                await audit.record(
                    "sign_in_throttled", subject=subject, address=address, detail=f"wait {waiting}"
                )
            else:
                in_flight.add(keys)  # before any other await: see InFlight
                admitted = True
    except BaseException:
        if admitted:  # the transaction failed after all: the caller won't remove them
            in_flight.remove(keys)
        raise
    if admitted:
        return waiting
    _events(request).sign_in_refused(
        SignInRefusal.THROTTLED,
        user_id=user_id,
        address=address,
        wait_seconds=math.ceil(waiting.total_seconds()),
    )
    return waiting


def _throttled(
    request: web.Request, template: str, waiting: timedelta, **values: object
) -> web.Response:
    error = f"Too many failed sign-ins. Wait {throttle.in_words(waiting)}, then try again."
    response = render(request, template, 429, error=error, **values)
    response.headers["Retry-After"] = str(math.ceil(waiting.total_seconds()))
    return response


# -- password ---------------------------------------------------------------------------------


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(CSRF_COOKIE) or auth.new_token()
    request[PRE_CSRF] = token
    request[SESSION] = None  # a sign-in page starts from nothing
    response = render(request, "sign_in.html", error=None)
    set_cookie(request, response, CSRF_COOKIE, token)
    return response


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await forms.read_form(request)
    email = _field(form, "email").strip().lower()
    password = _field(form, "password")
    # The pages this answers with are sign-in pages: the cookie's CSRF token, no session.
    request[PRE_CSRF] = request.cookies.get(CSRF_COOKIE, "")
    request[SESSION] = None
    address = client_address(request) or "-"
    async with request.app[WEB].desk.sessions.begin() as db:
        user = await Users(db).by_email(email)
    if user is not None and user.disabled_at is not None:
        user = None  # a disabled account signs in no more than one that doesn't exist
    user_id = user.id if user is not None else None
    waiting = await _admit(request, email, user_id, address)
    if waiting:
        return _throttled(request, "sign_in.html", waiting)
    try:
        return await _check_password(request, email, password, user, address)
    finally:
        request.app[SIGN_IN].in_flight.remove(_keys(email, address))


async def _check_password(
    request: web.Request, email: str, password: str, user: User | None, address: str
) -> web.StreamResponse:
    state, events = request.app[SIGN_IN], _events(request)
    user_id = user.id if user is not None else None
    try:
        ok = await state.checks.check(user.password_hash if user else None, password)
    except TooBusy:
        events.sign_in_refused(SignInRefusal.BUSY, user_id=user_id, address=address)
        response = render(request, "sign_in.html", 503, error=TOO_BUSY)
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response
    async with request.app[WEB].desk.sessions.begin() as db:
        audit = Audit(db)
        if not ok or user is None:
            await audit.record("sign_in_failed", subject=email, address=address, detail="password")
        else:
            sessions = WebSessions(db)
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                await sessions.end(auth.token_hash(old))
            token = auth.new_token()
            pending = None if user.totp_secret else state.box.seal(auth.new_totp_secret())
            await sessions.create(
                auth.token_hash(token), user.id, "password", auth.new_token(), pending
            )
            await audit.record("sign_in_password", user_id=user.id, address=address)
    if not ok or user is None:
        events.sign_in_refused(SignInRefusal.PASSWORD, user_id=user_id, address=address)
        return render(request, "sign_in.html", 401, error=SIGN_IN_FAILED)
    response = redirect("/review/two-factor" if pending is None else "/review/enrol")
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


# -- the second factor ------------------------------------------------------------------------


def _half_signed_in(request: web.Request) -> WebSession | None:
    session: WebSession | None = request[SESSION]
    return session if session is not None and session.stage == "password" else None


def _pending_key(request: web.Request, session: WebSession) -> str | None:
    """The key being enrolled, opened; None when there is none (or no key opens it)."""
    if session.totp_pending is None:
        return None
    try:
        return request.app[SIGN_IN].box.open(session.totp_pending)
    except SealedWithUnknownKey:
        return None  # sealed before a key rotation dropped its key: start again


async def two_factor_form(request: web.Request) -> web.StreamResponse:
    if _half_signed_in(request) is None:
        return redirect("/review/sign-in")
    return render(request, "two_factor.html", error=None)


async def enrol_form(request: web.Request) -> web.StreamResponse:
    session = _half_signed_in(request)
    secret = None if session is None else _pending_key(request, session)
    if secret is None or request[USER].totp_secret is not None:
        return redirect("/review/sign-in")
    return render(request, "enrol.html", secret=secret, error=None)


async def enrol_qr(request: web.Request) -> web.StreamResponse:
    session = _half_signed_in(request)
    secret = None if session is None else _pending_key(request, session)
    if secret is None or request[USER].totp_secret is not None:
        return web.Response(status=404)
    user: User = request[USER]
    svg = auth.totp_qr_svg(secret, user.email)
    # The image carries the key itself: never stored by a browser or proxy, whatever the
    # middleware's rule for other paths becomes.
    return web.Response(
        text=svg, content_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )


async def second_factor(request: web.Request) -> web.StreamResponse:
    """Check the code (enrolment or sign-in); on success start a fresh, full session."""
    session = _half_signed_in(request)
    if session is None:
        return redirect("/review/sign-in")
    code = _field(await forms.read_form(request), "code")
    user: User = request[USER]
    pending = _pending_key(request, session)
    enrolling = session.totp_pending is not None
    if enrolling and pending is None:
        return redirect("/review/sign-in")
    template = "enrol.html" if enrolling else "two_factor.html"
    address = client_address(request) or "-"
    waiting = await _admit(request, user.email, user.id, address)
    if waiting:
        return _throttled(request, template, waiting, secret=pending)
    try:
        refusal, token = await _settle_code(request, session, user, pending, code, address)
    except SealedWithUnknownKey:
        _log.error("totp_key_unreadable", user_id=user.id)
        return render(request, "two_factor.html", 503, error=UNREADABLE_KEY)
    finally:
        request.app[SIGN_IN].in_flight.remove(_keys(user.email, address))
    if refusal is not None:
        _events(request).sign_in_refused(refusal, user_id=user.id, address=address)
    if refusal is SignInRefusal.STALE_ENROLMENT:
        request[SESSION] = None
        request[PRE_CSRF] = request.cookies.get(CSRF_COOKIE, "")
        response = render(request, "sign_in.html", 409, error=STALE_ENROLMENT)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response
    if refusal is not None:
        error = REFUSED_CODE[refusal] if not enrolling else "Wrong code"
        return render(request, template, 401, secret=pending, error=error)
    response = redirect("/review/")
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


async def _settle_code(
    request: web.Request,
    session: WebSession,
    user: User,
    pending: str | None,
    code: str,
    address: str,
) -> tuple[SignInRefusal | None, str]:
    """(why the code is refused, or None and the new full session's token), all recorded in
    one transaction."""
    box, now = request.app[SIGN_IN].box, datetime.now(UTC)
    async with request.app[WEB].desk.sessions.begin() as db:
        keys, sessions, audit = TwoFactorKeys(db), WebSessions(db), Audit(db)
        if pending is not None:
            refusal = await _confirm_enrolment(keys, box, user, pending, code, now)
        else:
            refusal = await _use_code(keys, box, user, code, now)
        if refusal is not None:
            if refusal is SignInRefusal.STALE_ENROLMENT:
                await sessions.end(session.id)
            await audit.record(
                "sign_in_failed", subject=user.email, address=address, detail=refusal.value
            )
            return refusal, ""
        if pending is not None:
            # Whoever else holds the password loses their pending enrolment (issue 13).
            await sessions.end_half_signed_in(user.id, keep=session.id)
            await audit.record("totp_enrolled", user_id=user.id, address=address)
        await sessions.end(session.id)
        token = auth.new_token()
        await sessions.create(auth.token_hash(token), user.id, "full", auth.new_token())
        await audit.record("sign_in", user_id=user.id, address=address)
        return None, token


async def _confirm_enrolment(
    keys: TwoFactorKeys, box: SecretBox, user: User, secret: str, code: str, now: datetime
) -> SignInRefusal | None:
    """A first key is stored only while the user has none: a pending key never replaces a
    confirmed one."""
    step = auth.matching_step(secret, code, now)
    if step is None:
        return SignInRefusal.CODE
    if not await keys.enrol(user.id, box.seal(secret), step):
        return SignInRefusal.STALE_ENROLMENT
    return None


async def _use_code(
    keys: TwoFactorKeys, box: SecretBox, user: User, code: str, now: datetime
) -> SignInRefusal | None:
    """An enrolled user's code: right, and of a later time step than the last one used."""
    stored = user.totp_secret
    if stored is None:  # two-factor reset since the password step
        return SignInRefusal.CODE
    secret = box.open(stored)
    step = auth.matching_step(secret, code, now)
    if step is None:
        return SignInRefusal.CODE
    if not await keys.use_step(user.id, step):
        return SignInRefusal.CODE_REUSED
    if not box.is_current(stored):  # clear, or sealed with a key being rotated out
        await keys.reseal(user.id, stored, box.seal(secret))
    return None


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


# -- the process's sign-in state ----------------------------------------------------------------


def add_sign_in_routes(app: web.Application) -> None:
    """The sign-in routes, relative to the /review prefix, and the state they keep.

    Raises SecretKeyError when no key can seal two-factor keys (see secret_box.py).
    """
    settings = app[WEB].settings
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    source = box_for(secret_key, settings.database_url)
    if source.made:
        _log.info(
            "secret_key_made",
            path=source.source,
            note="two-factor keys are sealed with it: keep it with the database. Deployments "
            "set INBOUND_SECRET_KEY instead (docs/operations.md)",
        )
    state = SignIn(source.box, throttle.sign_in_policy(settings.sign_in_limit))
    app[SIGN_IN] = state
    app[TRUSTED_PROXIES] = tuple(settings.trusted_proxies)
    app.on_startup.append(_seal_stored_keys)
    app.on_cleanup.append(_close)
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_get("/two-factor", two_factor_form)
    app.router.add_post("/two-factor", second_factor)
    app.router.add_get("/enrol", enrol_form)
    app.router.add_get("/enrol/qr.svg", enrol_qr)
    app.router.add_post("/enrol", second_factor)
    app.router.add_post("/sign-out", sign_out)


async def _seal_stored_keys(app: web.Application) -> None:
    """At start-up: every stored two-factor key must open (else SecretKeyError, naming the
    users), and each one stored in clear or sealed with an older key is sealed with the first."""
    box = app[SIGN_IN].box
    async with app[WEB].desk.sessions.begin() as db:
        keys = TwoFactorKeys(db)
        unreadable: list[int] = []
        resealed = 0
        for user_id, stored in await keys.stored():
            if box.is_current(stored):
                continue
            try:
                secret = box.open(stored)
            except SealedWithUnknownKey:
                unreadable.append(user_id)
                continue
            resealed += await keys.reseal(user_id, stored, box.seal(secret))
    if unreadable:
        listed = ", ".join(str(user_id) for user_id in unreadable[:10])
        more = f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else ""
        raise SecretKeyError(
            f"INBOUND_SECRET_KEY opens none of the stored two-factor keys of users {listed}"
            f"{more}: put the key they were sealed with back in the list (after the new one), "
            "or reset their two-factor (`inbound users reset-password EMAIL --reset-two-factor`)"
        )
    if resealed:
        _log.info("totp_keys_resealed", count=resealed)


async def _close(app: web.Application) -> None:
    app[SIGN_IN].checks.close()
