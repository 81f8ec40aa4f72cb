"""The rule suggestions page, /review/services/{service}/rules/suggestions: the keywords the
caseworkers' decisions teach (`inbound.rules.suggestions`), the decisions and messages behind
each and its replay impact, and "Add to a draft" (issue 18; docs/rules.md).

Adding puts the keyword in a draft (a new one from the version in force, or the `?draft=` the
admin came from) and goes to the draft's page: it never publishes. A service managed in files
gets the lines to change in its file instead. Only the service's admins see the page; anyone
else gets the rules page's audited 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from inbound.managed_rules import (
    Actor,
    DraftChanged,
    Invalid,
    Managed,
    ManagedInFiles,
    NotFound,
)
from inbound.review import forms, parameters
from inbound.review.desk import Desk
from inbound.review.rules_access import rules_admin
from inbound.review.site import WEB, client_address, redirect, render
from inbound.rules.adopting import (
    LanguageNeeded,
    Placement,
    adopt,
    in_words,
    placement,
)
from inbound.rules.editing import EditError
from inbound.rules.language import language_name
from inbound.rules.managed import check_version
from inbound.rules.model import ServiceRules
from inbound.rules.suggestions import (
    DEFAULT_DAYS,
    DEFAULT_MINIMUM,
    CaseworkerDecision,
    Suggestion,
    suggest,
)
from inbound.rules.version_diff import VersionDiff, diff
from inbound.store.rule_suggestions import window
from inbound.store.users import Audit, Scope


@dataclass(frozen=True)
class Shown:
    """One suggestion as the page shows it."""

    number: int  # from 1, for the ids of its fields
    suggestion: Suggestion
    where: Placement
    words: str  # what adding it does, in a sentence
    caseworkers: int  # how many people made the decisions behind it
    behind: tuple[CaseworkerDecision, ...]  # those decisions, oldest first
    # For rules managed in files: the lines to change, for each language a person may choose
    # (None: no choice to make).
    lines: tuple[tuple[str | None, VersionDiff], ...]


@dataclass(frozen=True)
class _Base:
    """The YAML a suggestion is added to, its rules, and where it is kept."""

    yaml: str
    rules: ServiceRules
    managed: Managed
    draft: int | None  # the draft it is added to; None: a new draft of the version in force


class _Refused(Exception):
    """The page can't do what was asked; the message says why, for the error summary."""

    def __init__(self, message: str, target: str = "suggestions") -> None:
        super().__init__(message)
        self.target = target


def _path(service_id: str) -> str:
    return f"/review/services/{service_id}/rules/suggestions"


async def _mine(
    desk: Desk, rules: ServiceRules
) -> tuple[list[Suggestion], dict[int, CaseworkerDecision]]:
    """The service's suggestions, and the decisions they come from by review item."""
    since = datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
    async with desk.sessions() as session:
        decisions, replies = await window(session, rules, since)
    # Replaying a month of replies per candidate takes CPU for a while: off the event loop.
    found = await asyncio.to_thread(suggest, rules, decisions, replies, DEFAULT_MINIMUM)
    return found, {one.item_id: one for one in decisions}


async def _base(request: web.Request, service_id: str, draft: int | None) -> _Base:
    """The draft's YAML, else the version in force; `NotFound` for no such draft."""
    managed = request.app[WEB].managed
    in_force = await managed.in_force(service_id)
    text = in_force.yaml
    if draft is not None and in_force.managed is Managed.INBOUND:
        text = (await managed.draft_of(service_id, draft)).draft.yaml
    report = check_version(service_id, None, text)
    if not report.services:  # stored rules were checked; a later code change may differ
        raise _Refused("These rules no longer load: fix them on the draft's YAML page first.")
    return _Base(text, report.services[0][1], in_force.managed, draft)


def _draft_param(raw: str) -> int | None:
    if raw == "":
        return None
    number = parameters.item_id(raw)
    if number is None:
        raise NotFound(f"draft {raw}")
    return number


def _shown(
    found: Sequence[Suggestion], by_item: dict[int, CaseworkerDecision], base: _Base
) -> list[Shown]:
    shown: list[Shown] = []
    for number, one in enumerate(found, start=1):
        where = placement(base.rules, one.text, one.action)
        behind = tuple(by_item[item] for item in one.item_ids if item in by_item)
        lines: tuple[tuple[str | None, VersionDiff], ...] = ()
        if base.managed is Managed.FILES:
            lines = tuple(
                (language, diff(base.yaml, _added(base, one, language), context=0))
                for language in (where.languages or (None,))
            )
        people = len({decision.decided_by for decision in behind})
        words = in_words(one.text, one.action, where)
        shown.append(Shown(number, one, where, words, people, behind, lines))
    return shown


def _added(base: _Base, suggestion: Suggestion, language: str | None) -> str:
    text, _ = adopt(base.yaml, base.rules, suggestion.text, suggestion.action, language)
    return text


async def suggestions_page(request: web.Request) -> web.StreamResponse:
    admin = await rules_admin(request, seen="view_rule_suggestions")
    if isinstance(admin, web.Response):
        return admin
    try:
        draft = _draft_param(request.query.get("draft", ""))
        return await _page(request, admin.service, draft)
    except NotFound:
        return render(request, "not_found.html", 404)


async def _page(
    request: web.Request,
    service: ServiceRules,
    draft: int | None,
    error: _Refused | None = None,
    status: int = 200,
) -> web.Response:
    service_id = service.service.id
    try:
        base = await _base(request, service_id, draft)
    except NotFound:
        return render(request, "not_found.html", 404)
    except _Refused as refused:
        return render(request, "error.html", 409, message=str(refused))
    found, by_item = await _mine(request.app[WEB].desk, service)
    # Each suggestion is placed in the YAML (and, for a file, written into it): CPU work too.
    shown = await asyncio.to_thread(_shown, found, by_item, base)
    return render(
        request,
        "rules_suggestions.html",
        status,
        service=service,
        shown=shown,
        files=base.managed is Managed.FILES,
        draft=base.draft,
        path=_path(service_id),
        days=DEFAULT_DAYS,
        minimum=DEFAULT_MINIMUM,
        error=str(error) if error else None,
        target=error.target if error else None,
        language_name=language_name,
    )


async def add_suggestion(request: web.Request) -> web.StreamResponse:
    """ "Add to a draft": the keyword into a draft, then the draft's page. Never publishes."""
    admin = await rules_admin(request)
    if isinstance(admin, web.Response):
        return admin
    scope, service = admin.scope, admin.service
    form = await forms.read_form(request)
    text, action = forms.text(form, "text"), forms.text(form, "action")
    language = forms.text(form, "language") or None
    try:
        draft = _draft_param(forms.text(form, "draft"))
    except NotFound:
        return render(request, "not_found.html", 404)
    try:
        return await _add(request, scope, service, draft, text, action, language)
    except NotFound:
        return render(request, "not_found.html", 404)
    except ManagedInFiles:
        message = "These rules are managed in files: add the lines shown to the rule file."
        return render(request, "error.html", 409, message=message)
    except _Refused as refused:
        return await _page(request, service, draft, refused, 400)


async def _add(
    request: web.Request,
    scope: Scope,
    service: ServiceRules,
    draft: int | None,
    text: str,
    action: str,
    language: str | None,
) -> web.StreamResponse:
    service_id = service.service.id
    found, _ = await _mine(request.app[WEB].desk, service)
    offered = {(one.text, one.action.value): (n, one) for n, one in enumerate(found, 1)}
    number, suggestion = offered.get((text, action), (0, None))
    if suggestion is None:
        raise _Refused(
            "That suggestion is no longer offered (a caseworker may have decided the reply "
            "another way since): the suggestions below are the current ones."
        )
    base = await _base(request, service_id, draft)
    if base.managed is Managed.FILES:
        raise ManagedInFiles(service_id)
    try:
        changed, where = adopt(base.yaml, base.rules, text, suggestion.action, language)
    except LanguageNeeded:
        raise _Refused(
            f"Choose the language “{text}” is written in", f"language-{number}"
        ) from None
    except EditError as error:
        raise _Refused(f"The keyword can't be added: {error}.") from None
    managed = request.app[WEB].managed
    address = client_address(request)
    try:
        if draft is None:
            actor = Actor(scope.email, scope.user_id, address)
            draft = (await managed.draft(service_id, changed, actor)).draft.id
        else:
            await managed.change_draft(service_id, draft, changed, was=base.yaml)
    except Invalid as invalid:
        raise _Refused(f"The draft would not load with the keyword: {invalid}.") from None
    except DraftChanged:
        raise _Refused(
            "Someone saved the draft while the keyword was being added, so it was not added: "
            "add it again."
        ) from None
    async with request.app[WEB].desk.sessions.begin() as db:
        # The keyword is a reply's words: the audit log names the draft and the rule only.
        await Audit(db).record(
            "rule_suggestion_added",
            user_id=scope.user_id,
            service_id=service_id,
            address=address,
            detail=f"draft {draft}, rule {where.rule}, {suggestion.decisions} decisions",
        )
    rules = check_version(service_id, None, changed).services[0][1]
    index = next(i for i, rule in enumerate(rules.rules, 1) if rule.name == where.rule)
    query = urlencode({"done": "suggested", "rule": index, "keyword": text})
    return redirect(f"/review/services/{service_id}/rules/drafts/{draft}?{query}")


def add_routes(app: web.Application) -> None:
    """The page's routes, relative to /review."""
    app.router.add_get("/services/{service}/rules/suggestions", suggestions_page)
    app.router.add_post("/services/{service}/rules/suggestions", add_suggestion)
