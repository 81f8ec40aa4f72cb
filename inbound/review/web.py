"""The review queue's web pages (/review/): the queue, an item, the rules.

Handlers only translate HTTP into Desk calls. Security lives in `site.py`'s middlewares (headers,
the server-side session, CSRF on every POST); signing in lives in `sign_in.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from inbound.config import Settings
from inbound.review.decisions import CAPTURES, DECISIONS, Refused
from inbound.review.desk import Desk, NotFound
from inbound.review.security_events import Denied
from inbound.review.sign_in import add_sign_in_routes
from inbound.review.site import (
    HERE,
    WEB,
    Web,
    client_address,
    csrf,
    redirect,
    render,
    security_headers,
    sessions,
    signed_in,
    templates,
)
from inbound.rules.match import Matcher
from inbound.store.review import STATES, QueueFilter
from inbound.store.users import Audit, Scope

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
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    wanted = _filter(request.query, scope)
    try:
        page = await request.app[WEB].desk.queue(scope, wanted, client_address(request))
    except NotFound:
        return render(request, "not_found.html", 404)
    next_query = None
    if page.next_after is not None:
        params = {k: v for k, v in request.query.items() if k != "after"}
        params["after"] = cursor(page.next_after)
        next_query = "&".join(f"{k}={_quote(v)}" for k, v in params.items())
    return render(
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
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    item_id = _item_id(request)
    try:
        if item_id is None:
            raise NotFound
        view = await request.app[WEB].desk.view(scope, item_id, client_address(request))
    except NotFound:
        return render(request, "not_found.html", 404)
    return render(
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
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    item_id = _item_id(request)
    if item_id is None:
        return render(request, "not_found.html", 404)
    what = request.match_info["action"]
    form = await request.post()
    desk, address = request.app[WEB].desk, client_address(request)
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
            return render(request, "not_found.html", 404)
    except NotFound:
        return render(request, "not_found.html", 404)
    except Refused as refused:
        return await item_page(request, error=str(refused), status=409)
    return redirect(f"/review/items/{item_id}?done={what}")


# -- rules ------------------------------------------------------------------------------------


async def rules_page(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
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
                address=client_address(request),
            )
            desk.events.access_denied(
                Denied.RULES,
                user_id=scope.user_id,
                address=client_address(request),
                service_id=service_id,
            )
            return render(request, "not_found.html", 404)
        await Audit(db).record(
            "view_rules",
            user_id=scope.user_id,
            service_id=service_id,
            address=client_address(request),
        )
    decision, text = None, ""
    if request.method == "POST":
        form = await request.post()
        text = str(form.get("text", ""))[:1000]
        decision = Matcher(service).decide(text)
    return render(request, "rules.html", service=service, decision=decision, text=text)


def add_routes(app: web.Application) -> None:
    """Routes relative to the /review prefix the application is mounted at."""
    add_sign_in_routes(app)
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
