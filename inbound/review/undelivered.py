"""The "could not be delivered" page (/review/undelivered): the callbacks and replies of the
user's services that gave up, each with why in words and a "Try again" button.

Handlers only translate HTTP into `redelivery` calls. `add_routes` also adds the middleware that
tells a platform admin on the queue which services have no caseworker (`_no_caseworker.html`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from inbound import phone
from inbound.review import parameters
from inbound.review.decisions import Refused
from inbound.review.desk import NotFound
from inbound.review.parameters import BadParameter
from inbound.review.redelivery import try_again, uncovered, undelivered
from inbound.review.site import (
    WEB,
    WITHOUT_CASEWORKER,
    Handler,
    client_address,
    redirect,
    render,
    signed_in,
)
from inbound.review.undelivered_words import why_in_words
from inbound.rules.compiled import CompiledRules
from inbound.store.undelivered import Cursor

KIND_NAMES = {"callback": "Callback", "reply": "Text reply"}


async def undelivered_page(
    request: web.Request, error: str | None = None, failed: int | None = None, status: int = 200
) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    try:
        older_than = parameters.parse_cursor(request.query.get("after", ""))
        newer_than = parameters.parse_cursor(request.query.get("before", ""), "before")
    except BadParameter as bad:
        message = f"The list can't be shown for {bad.name}=: {bad.why}."
        return render(request, "bad_request.html", 400, message=message)
    view = await undelivered(
        request.app[WEB].desk, scope, client_address(request), older_than, newer_than
    )
    request[WITHOUT_CASEWORKER] = view.without_caseworker
    tried = parameters.item_id(request.query.get("tried", ""))
    # A fixed word, never the query's text: a link can't make the banner say anything else.
    tried_kind = KIND_NAMES.get(request.query.get("kind", ""), "")
    rules = request.app[WEB].desk.rules()
    rows = [
        {
            "action": action,
            "service": _service_name(rules, action.service_id),
            "kind": KIND_NAMES.get(action.kind, action.kind),
            "number": phone.mask(action.number),
            "why": why_in_words(action.kind, action.last_error, action.attempts),
        }
        for action in view.actions
    ]
    return render(
        request,
        "undelivered.html",
        status,
        rows=rows,
        error=error,
        failed=failed,
        failed_listed=any(action.id == failed for action in view.actions),
        tried=tried if error is None else None,
        tried_kind=tried_kind,
        # Next is older ones, Previous newer ones: keyset cursors, as on the queue.
        next_link=_page_link("after", view.older),
        previous_link=_page_link("before", view.newer),
    )


def _page_link(name: str, cursor: Cursor | None) -> str | None:
    """The list's URL from a cursor; None without one."""
    if cursor is None:
        return None
    return "/review/undelivered?" + urlencode({name: parameters.cursor(cursor)})


def _service_name(rules: CompiledRules, service_id: str) -> str:
    """The service's name from its rule file, or its id when no rule file has it now."""
    found = rules.service(service_id)
    return found.service.name if found is not None else service_id


async def retry(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    action_id = parameters.item_id(request.match_info["action"])
    if action_id is None:
        return render(request, "not_found.html", 404)
    try:
        sent = await try_again(request.app[WEB].desk, scope, action_id, client_address(request))
    except NotFound:
        return render(request, "not_found.html", 404)
    except Refused as refused:
        return await undelivered_page(
            request,
            error=f"#{action_id} can't be sent again: {refused}",
            failed=action_id,
            status=409,
        )
    return redirect(f"/review/undelivered?tried={action_id}&kind={sent.kind}")


@web.middleware
async def queue_notice(request: web.Request, handler: Handler) -> web.StreamResponse:
    """On the queue, tell a platform admin which services have no caseworker."""
    scope = signed_in(request) if request.method == "GET" and request.path == "/review/" else None
    if scope is not None and scope.unassigned:
        request[WITHOUT_CASEWORKER] = await uncovered(request.app[WEB].desk, scope)
    return await handler(request)


def add_routes(app: web.Application) -> None:
    """The page's routes, relative to /review, and the queue's notice."""
    app.router.add_get("/undelivered", undelivered_page)
    app.router.add_post("/undelivered/{action}/retry", retry)
    app.middlewares.append(queue_notice)
