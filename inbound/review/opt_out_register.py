"""Use cases of the opt-out register page: see a page of a service's register, look a number
up, opt a number back in. Each is one transaction, allowed by `opt_out_rules` and audited with
who, the service and (for a number) its masked form, never the number itself. A service the user
may not see, or an entry not on its register, is `NotFound`, audited as `denied`, exactly like a
service that doesn't exist."""

from __future__ import annotations

from dataclasses import dataclass

from inbound import phone
from inbound.review.desk import Desk, NotFound
from inbound.review.opt_out_rules import (
    PER_PAGE,
    RegisterError,
    Viewer,
    may_opt_back_in,
    may_view,
    reason,
    searched_number,
)
from inbound.review.security_events import Denied
from inbound.store.opt_outs import OptedOut, OptOuts
from inbound.store.users import Audit, Scope


@dataclass(frozen=True)
class RegisterPage:
    """One page of a service's register, newest first."""

    entries: list[OptedOut]
    total: int
    may_opt_back_in: bool


@dataclass(frozen=True)
class Found:
    """What a search found: the number as read (E.164) and its entry, None when not there."""

    number: str
    entry: OptedOut | None


class OptBackInRefused(Exception):
    """Opting back in is not for this person (a caseworker): the page says who may."""


def viewer_of(scope: Scope) -> Viewer:
    return Viewer(scope.roles, scope.unassigned)


def services(desk: Desk, scope: Scope) -> list[str]:
    """The services whose register this user may see, among those the rules know."""
    viewer = viewer_of(scope)
    return sorted(s for s in desk.rules().book.services if may_view(viewer, s))


async def register(
    desk: Desk, scope: Scope, service_id: str, page: int, address: str | None
) -> RegisterPage:
    """A page of the service's register (audited as view_opt_outs)."""
    await _allowed(desk, scope, service_id, address, "opt-outs")
    async with desk.sessions.begin() as session:
        register = OptOuts(session)
        total = await register.count(service_id)
        entries = await register.newest(service_id, (page - 1) * PER_PAGE, PER_PAGE)
        await Audit(session).record(
            "view_opt_outs",
            user_id=scope.user_id,
            service_id=service_id,
            address=address,
            detail=f"page {page}",
        )
    return RegisterPage(entries, total, may_opt_back_in(viewer_of(scope), service_id))


async def search(
    desk: Desk, scope: Scope, service_id: str, typed: str, address: str | None
) -> Found:
    """Look a number up on the service's register, read in the service's region; RegisterError
    when what was typed can't be a phone number. Audited as search_opt_outs."""
    await _allowed(desk, scope, service_id, address, "opt-outs search")
    rules = desk.rules().book.services[service_id]
    number = searched_number(typed, rules.service.region)
    async with desk.sessions.begin() as session:
        entry = await OptOuts(session).find(service_id, number)
        await Audit(session).record(
            "search_opt_outs",
            user_id=scope.user_id,
            service_id=service_id,
            address=address,
            detail=f"{phone.mask(number)}: {'on the register' if entry else 'not on it'}",
        )
    return Found(number, entry)


async def entry(
    desk: Desk, scope: Scope, service_id: str, opt_out_id: int, address: str | None
) -> OptedOut:
    """One entry to opt back in; NotFound outside the register, OptBackInRefused for someone
    who may only look."""
    detail = f"opt back in #{opt_out_id}"
    await _allowed(desk, scope, service_id, address, detail)
    if not may_opt_back_in(viewer_of(scope), service_id):
        await _denied(desk, scope, service_id, address, detail, OptBackInRefused())
    async with desk.sessions.begin() as session:
        found = await OptOuts(session).entry(service_id, opt_out_id)
    if found is None:
        await _denied(desk, scope, service_id, address, detail)
    assert found is not None
    return found


async def opt_back_in(
    desk: Desk,
    scope: Scope,
    service_id: str,
    opt_out_id: int,
    typed_reason: str,
    address: str | None,
) -> OptedOut:
    """Take the entry off the register, so the service may text the number again; audited as
    opt_in_by_caseworker with the reason. NotFound when it is not (or no longer) there."""
    found = await entry(desk, scope, service_id, opt_out_id, address)
    why = reason(typed_reason)
    async with desk.sessions.begin() as session:
        removed = await OptOuts(session).remove(service_id, opt_out_id)
        if removed:
            opted_out = found.opted_out_at.strftime("%Y-%m-%d %H:%M UTC")
            await Audit(session).record(
                "opted_back_in",
                user_id=scope.user_id,
                service_id=service_id,
                subject=phone.mask(found.number),
                address=address,
                detail=f"opt-out #{opt_out_id} of {opted_out}: {why}",
            )
    if not removed:  # someone else opted it back in meanwhile
        raise NotFound
    return found


async def _allowed(
    desk: Desk, scope: Scope, service_id: str, address: str | None, detail: str
) -> None:
    known = service_id in desk.rules().book.services
    if not known or not may_view(viewer_of(scope), service_id):
        await _denied(desk, scope, service_id, address, detail)


async def _denied(
    desk: Desk,
    scope: Scope,
    service_id: str,
    address: str | None,
    detail: str,
    refusal: Exception | None = None,
) -> None:
    """Audit and log the refusal, then raise it: NotFound unless `refusal` says otherwise."""
    # In a transaction of its own: the caller's, if any, is rolled back by the NotFound.
    await desk.deny_service_page(Denied.OPT_OUTS, scope, service_id, address, detail)
    raise refusal or NotFound()


__all__ = [
    "Found",
    "NotFound",
    "OptBackInRefused",
    "RegisterError",
    "RegisterPage",
    "entry",
    "opt_back_in",
    "register",
    "search",
    "services",
]
