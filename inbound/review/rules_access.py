"""Who may open a service's rules pages (the rules, drafts, preview, publish, versions): the
service's service_admins. Anyone else gets the audited 404 the rules page has always given, as
if the service did not exist."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from inbound.review.security_events import Denied
from inbound.review.site import WEB, client_address, redirect, render, signed_in
from inbound.rules.model import ServiceRules
from inbound.store.users import Audit, Scope


async def admin_rules(
    request: web.Request, scope: Scope, *, seen: str | None = None
) -> ServiceRules | None:
    """The rules in force of the path's service when `scope` is one of its service_admins
    (the visit audited as `seen`, if given); None, the refusal audited and counted, else: the
    caller answers 404."""
    desk = request.app[WEB].desk
    service_id = request.match_info["service"]
    address = client_address(request)
    service = desk.rules().book.services.get(service_id)
    if service is None or not scope.is_admin_of(service_id):
        await desk.deny_service_page(Denied.RULES, scope, service_id, address, "rules")
        return None
    if seen is not None:
        async with desk.sessions.begin() as db:
            await Audit(db).record(
                seen, user_id=scope.user_id, service_id=service_id, address=address
            )
    return service


@dataclass(frozen=True)
class RulesAdmin:
    """A rules page's caller, one of the path's service's service_admins, and its rules."""

    scope: Scope
    service: ServiceRules


async def rules_admin(
    request: web.Request, *, seen: str | None = None
) -> RulesAdmin | web.Response:
    """The caller if signed in as one of the path's service's service_admins; else the page to
    answer with: sign in, or the audited 404 (`admin_rules`)."""
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    service = await admin_rules(request, scope, seen=seen)
    if service is None:
        return render(request, "not_found.html", 404)
    return RulesAdmin(scope, service)
