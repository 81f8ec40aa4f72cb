"""The opt-out register pages (/review/opt-outs, /review/services/{service}/opt-outs…): the
numbers that asked a service to stop texting them, newest first, a search by number, and
"Opt back in" with a reason and a check step.

Handlers only translate HTTP into `opt_out_register` calls; who may do what is `opt_out_rules`.
The search is a POST, so the number typed never sits in a URL (browser history, a proxy's log).
"""

from __future__ import annotations

from aiohttp import web

from inbound.review import forms, parameters
from inbound.review.opt_out_register import (
    NotFound,
    OptBackInRefused,
    RegisterError,
    entry,
    opt_back_in,
    register,
    search,
    services,
)
from inbound.review.opt_out_rules import (
    LONGEST_REASON,
    page_count,
    page_number,
    pages_shown,
    reason,
)
from inbound.review.site import WEB, client_address, redirect, render, signed_in


def _register_path(service_id: str) -> str:
    return f"/review/services/{service_id}/opt-outs"


async def services_page(request: web.Request) -> web.StreamResponse:
    """The services whose register the user may see; straight to it when there is one."""
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    found = services(request.app[WEB].desk, scope)
    if not found:
        return render(request, "not_found.html", 404)
    if len(found) == 1:
        return redirect(_register_path(found[0]))
    return render(request, "opt_out_services.html", services=found)


async def register_page(request: web.Request) -> web.StreamResponse:
    """A page of the register (GET), or the same page with a search's answer (POST)."""
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    service_id = request.match_info["service"]
    desk, address = request.app[WEB].desk, client_address(request)
    page = page_number(request.query.get("page", ""))
    typed, found, error = "", None, None
    try:
        if page is None:
            # Checked (and audited, if not theirs) before saying anything about the page.
            await register(desk, scope, service_id, 1, address)
            return render(
                request, "bad_request.html", 400, message="page= must be a page number, like 2."
            )
        if request.method == "POST":
            typed = forms.text(await forms.read_form(request), "number")
            try:
                found = await search(desk, scope, service_id, typed, address)
            except RegisterError as bad:
                error = bad
        shown = await register(desk, scope, service_id, page, address)
    except NotFound:
        return render(request, "not_found.html", 404)
    last = page_count(shown.total)
    if page > last:
        return render(request, "not_found.html", 404)
    return render(
        request,
        "opt_outs.html",
        400 if error else 200,
        service_id=service_id,
        shown=shown,
        page=page,
        last=last,
        pages=pages_shown(page, last),
        typed=typed,
        found=found,
        error=error,
        done=request.query.get("done") == "opted-in",
    )


async def opt_in_page(request: web.Request) -> web.StreamResponse:
    """Opt a number back in: the reason (GET, or a POST with an error or "Change"), the check
    page (a POST with a reason), then the change itself (a POST confirming it)."""
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    service_id = request.match_info["service"]
    opt_out_id = parameters.item_id(request.match_info["entry"])
    if opt_out_id is None:
        return render(request, "not_found.html", 404)
    desk, address = request.app[WEB].desk, client_address(request)
    typed, error = "", None
    try:
        found = await entry(desk, scope, service_id, opt_out_id, address)
        if request.method == "POST":
            form = await forms.read_form(request)
            typed = forms.text(form, "reason")
            if forms.text(form, "change") != "yes":
                why = reason(typed)
                if forms.text(form, "confirmed") == "yes":
                    await opt_back_in(desk, scope, service_id, opt_out_id, why, address)
                    return redirect(_register_path(service_id) + "?done=opted-in")
                return render(
                    request,
                    "opt_out_check.html",
                    service_id=service_id,
                    entry=found,
                    reason=why,
                )
    except NotFound:
        return render(request, "not_found.html", 404)
    except OptBackInRefused:
        return render(
            request,
            "opt_out_refused.html",
            403,
            service_id=service_id,
        )
    except RegisterError as bad:
        error = bad
    return render(
        request,
        "opt_out_reason.html",
        400 if error else 200,
        service_id=service_id,
        entry=found,
        typed=typed,
        error=error,
        longest=LONGEST_REASON,
    )


def add_routes(app: web.Application) -> None:
    """The register's routes, relative to /review."""
    app.router.add_get("/opt-outs", services_page)
    app.router.add_get("/services/{service}/opt-outs", register_page)
    app.router.add_post("/services/{service}/opt-outs", register_page)
    app.router.add_get("/services/{service}/opt-outs/{entry}/opt-in", opt_in_page)
    app.router.add_post("/services/{service}/opt-outs/{entry}/opt-in", opt_in_page)
