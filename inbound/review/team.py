"""The team pages (/review/team, /review/services/{service}/team…): a service's admins see its
members and invite, change roles, disable, enable and reset two-factor.

Handlers only translate HTTP into `team_changes` calls; who may do what is `team_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from inbound.review import forms, parameters
from inbound.review.desk import NotFound
from inbound.review.site import WEB, client_address, redirect, render, signed_in
from inbound.review.team_changes import change, invite, manageable, member, team
from inbound.review.team_rules import (
    LONGEST_EMAIL,
    ROLE_WORDS,
    SERVICE_ROLES,
    Change,
    InvitationRefused,
    TeamError,
    role_in_words,
)
from inbound.store.team import TeamMember

# The success banner after each change; `?done=` names a key, never the text, and the member is
# looked up by id in the team, so a link can't make the page say anything else.
DONE: Mapping[str, str] = {
    Change.ROLE: "{email} is now a {role}.",
    Change.DISABLE: "{email} is disabled: they can't sign in, their sessions are ended and "
    "their API tokens revoked.",
    Change.ENABLE: "{email} can sign in again. API tokens revoked when they were disabled stay "
    "revoked.",
    Change.RESET_TWO_FACTOR: "Two-factor reset for {email}: they set up an authenticator app "
    "again at their next sign-in, with their password.",
}


async def teams_page(request: web.Request) -> web.StreamResponse:
    """The services whose team the user manages; straight to it when there is one."""
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    services = manageable(request.app[WEB].desk, scope)
    if not services:
        return render(request, "not_found.html", 404)
    if len(services) == 1:
        return redirect(f"/review/services/{services[0]}/team")
    return render(request, "team_services.html", services=services)


async def team_page(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    service_id = request.match_info["service"]
    try:
        members = await team(request.app[WEB].desk, scope, service_id, client_address(request))
    except NotFound:
        return render(request, "not_found.html", 404)
    done = _banner(request.query, members)
    return render(
        request,
        "team.html",
        service_id=service_id,
        members=members,
        role_in_words=role_in_words,
        done=done,
    )


def _banner(query: Mapping[str, str], members: list[TeamMember]) -> str | None:
    words = DONE.get(query.get("done", ""))
    whom = parameters.item_id(query.get("member", ""))
    found = next((m for m in members if m.user_id == whom), None)
    if words is None or found is None:
        return None
    return words.format(email=found.email, role=role_in_words(found.role).lower())


async def invite_page(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    service_id = request.match_info["service"]
    desk, address = request.app[WEB].desk, client_address(request)
    typed = {"email": "", "role": ""}
    errors: list[TeamError] = []
    try:
        if request.method == "POST":
            form = await forms.read_form(request)
            typed = {name: forms.text(form, name) for name in typed}
            invited = await invite(desk, scope, service_id, typed["email"], typed["role"], address)
            return render(
                request,
                "team_invited.html",
                service_id=service_id,
                invited=invited,
                role_words=role_in_words(invited.role).lower(),
            )
        await team(desk, scope, service_id, address)  # only to check and audit the access
    except NotFound:
        return render(request, "not_found.html", 404)
    except InvitationRefused as refused:
        errors = refused.errors
    return render(
        request,
        "team_invite.html",
        400 if errors else 200,
        service_id=service_id,
        typed=typed,
        roles=[(role, ROLE_WORDS[role]) for role in SERVICE_ROLES],
        errors=errors,
        field_error={error.field: str(error) for error in errors},
        longest=LONGEST_EMAIL,
    )


async def change_page(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    service_id = request.match_info["service"]
    user_id = parameters.item_id(request.match_info["user"])
    try:
        what = Change(request.match_info["change"])
    except ValueError:
        what = None
    if user_id is None or what is None:
        return render(request, "not_found.html", 404)
    desk, address = request.app[WEB].desk, client_address(request)
    error: TeamError | None = None
    chosen = ""
    try:
        if request.method == "POST":
            form = await forms.read_form(request)
            chosen = forms.text(form, "role")
            await change(desk, scope, service_id, user_id, what, address, chosen or None)
            return redirect(f"/review/services/{service_id}/team?done={what}&member={user_id}")
        found = await member(desk, scope, service_id, user_id, address)
    except NotFound:
        return render(request, "not_found.html", 404)
    except TeamError as refused:
        error = refused
        found = await member(desk, scope, service_id, user_id, address)
    return render(
        request,
        "team_change.html",
        (400 if error.field else 409) if error else 200,
        service_id=service_id,
        what=what,
        member=found,
        yourself=found.user_id == scope.user_id,
        chosen=chosen or found.role,
        roles=[(role, ROLE_WORDS[role]) for role in SERVICE_ROLES],
        role_in_words=role_in_words,
        error=error,
    )


def add_routes(app: web.Application) -> None:
    """The team pages' routes, relative to /review."""
    app.router.add_get("/team", teams_page)
    app.router.add_get("/services/{service}/team", team_page)
    app.router.add_get("/services/{service}/team/invite", invite_page)
    app.router.add_post("/services/{service}/team/invite", invite_page)
    app.router.add_get("/services/{service}/team/{user}/{change}", change_page)
    app.router.add_post("/services/{service}/team/{user}/{change}", change_page)
