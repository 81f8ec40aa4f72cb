"""The rules pages after editing (issue 18): preview a draft on the service's stored messages,
publish it with a reason, the versions (list, one version, the diff of two) and rolling back.

Only the service's service_admins see them (`rules_access`); the use cases, their checks and
their audit are `ManagedRules`'. Handlers translate HTTP into its calls and its errors into pages.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from inbound.managed_rules import (
    MAX_PREVIEW_DAYS,
    MAX_REASON,
    Actor,
    Conflict,
    Invalid,
    Managed,
    ManagedInFiles,
    ManagedRules,
    NotFound,
)
from inbound.outcome import Route
from inbound.prompts.trial import as_reply
from inbound.review import forms
from inbound.review.expects_form import answerable, ticked
from inbound.review.rules_access import rules_admin
from inbound.review.rules_preview import PREVIEW_DAYS, preview_counts, preview_days
from inbound.review.site import WEB, client_address, redirect, render
from inbound.rules.compiled import CompiledRules
from inbound.rules.managed import check_version
from inbound.rules.match import Decision, Matcher
from inbound.rules.model import Action, RuleBook, ServiceRules
from inbound.rules.replay import REPEAT, REVIEW
from inbound.rules.version_diff import diff
from inbound.store.models import RuleVersion
from inbound.store.users import Scope

PER_PAGE = 50  # changed messages on one page of a preview
MAX_TEXT = 1000  # what "test a message" reads of the text, as the rules page

# The replay's counts in words, in the tables the preview shows (`preview_counts` names);
# caseworkers' decisions are counted apart from automatic outcomes.
COUNTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "What changes",
        (
            ("replayed", "Messages replayed"),
            ("changed", "Treated differently by the draft"),
            ("review_now_handled", "Sent to review before, handled automatically now"),
            ("handled_now_review", "Handled automatically before, sent to review now"),
            ("different_action", "Handled automatically, with a different action"),
            ("automatic_before", "Handled automatically when they arrived"),
            ("automatic_after", "Handled automatically by the draft"),
            ("purged", "Purged after the retention period (not replayed)"),
        ),
    ),
    (
        "Decided by caseworkers (counted apart)",
        (
            ("caseworker_decided", "Decided with an action"),
            ("caseworker_dismissed", "Dismissed: no action needed"),
            ("as_caseworkers", "The draft acts as the caseworker did"),
            ("unlike_caseworkers", "The draft acts otherwise"),
        ),
    ),
)

# What the versions page says after publishing or rolling back; `?done=` names a key only.
DONE: Mapping[str, str] = {
    "published": "Published: version {number} is in force. Every process uses it within seconds.",
    "rolled-back": "Rolled back: version {number} is in force, with the rules of {to}.",
}


def outcome_words(outcome: str) -> str:
    """An outcome of the replay ("review", "repeat" or an action) in a page's words."""
    if outcome == REVIEW:
        return "Sent to review (a person decides)"
    if outcome == REPEAT:
        return "A repeat of an answer already given (nothing done again)"
    return f"{outcome} (automatic)"


@dataclass(frozen=True)
class _Page:
    """A rules page's caller: their scope, the service's rules in force, who they are."""

    scope: Scope
    service: ServiceRules
    actor: Actor

    @property
    def service_id(self) -> str:
        return self.service.service.id

    @property
    def base(self) -> str:
        return f"/review/services/{self.service_id}/rules"


async def _admin(request: web.Request) -> _Page | web.Response:
    """The page's caller if a service_admin of its service; else where to send them."""
    admin = await rules_admin(request)
    if isinstance(admin, web.Response):
        return admin
    scope = admin.scope
    actor = Actor(scope.email, scope.user_id, client_address(request))
    return _Page(scope, admin.service, actor)


_Handler = Callable[[web.Request, _Page], Awaitable[web.StreamResponse]]


def _for_admins(handler: _Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler, given its `_Page`, for the service's admins (others get `_admin`'s answer);
    a draft or version it asks for that isn't there (`NotFound`) is the 404 page."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        page = await _admin(request)
        if isinstance(page, web.Response):
            return page
        try:
            return await handler(request, page)
        except NotFound:
            return _not_found(request)

    return checked


def _managed(request: web.Request) -> ManagedRules:
    return request.app[WEB].managed


def _render(
    request: web.Request, page: _Page, name: str, status: int = 200, **values: Any
) -> web.Response:
    """A rules page: every one links to the service's other rules pages (`base`)."""
    return render(request, name, status, service_id=page.service_id, base=page.base, **values)


def _not_found(request: web.Request) -> web.Response:
    return render(request, "not_found.html", 404)


async def _history(managed: ManagedRules, service_id: str) -> tuple[list[RuleVersion], int | None]:
    """The service's versions, newest first, and the number of the one in force (`_in_force`)."""
    return list(await managed.versions(service_id)), await _in_force(managed, service_id)


async def _in_force(managed: ManagedRules, service_id: str) -> int | None:
    """The number of the version in force; None when a rule file is (the service was never
    in inbound, or was moved back to files: its versions are history). `NotFound`."""
    found = await managed.in_force(service_id)
    return found.version if found.managed is Managed.INBOUND else None


def _rules_of(service_id: str, yaml: str) -> ServiceRules | None:
    """The rules of a stored version or draft, as the rules page shows them; None when they
    no longer load (stored ones were checked: only a later change of inbound could do that)."""
    report = check_version(service_id, None, yaml)
    return report.services[0][1] if report.services else None


def _error_words(error: Exception) -> str:
    """A use case's refusal as a sentence: the field named in it, if any, kept out."""
    message = str(error)
    for field in ("reason: ", "days: "):
        message = message.removeprefix(field)
    return message[:1].upper() + message[1:]


def _require(reason: str, words: str) -> None:
    """A reason is needed: the page says so in its words (ManagedRules would refuse it too)."""
    if not reason.strip():
        raise Invalid(words)


# -- preview ----------------------------------------------------------------------------------


@_for_admins
async def preview_page(request: web.Request, page: _Page) -> web.StreamResponse:
    """The draft against the version in force: one typed message, then the last days' replay."""
    draft_id = int(request.match_info["draft"])
    managed = _managed(request)
    drafted = await managed.draft_of(page.service_id, draft_id)
    draft_rules = _rules_of(page.service_id, drafted.draft.yaml)
    text, trial, text_error = "", None, None
    # A draft may answer with actions the version in force has no rule for, and the reverse.
    answers = answerable(*(rules for rules in (draft_rules, page.service) if rules is not None))
    expects: tuple[Action, ...] = ()
    if request.method == "POST":
        form = await forms.read_form(request)
        text = forms.text(form, "text")[:MAX_TEXT]
        expects = ticked(form, answers)
        if not text.strip():
            text_error = "Enter a message to test"
        elif draft_rules is not None:
            trial = _trial(request, page.service, draft_rules, text, expects)
    raw_days = request.query.get("days")
    values: dict[str, Any] = {"days_typed": raw_days or str(PREVIEW_DAYS), "error": None}
    summary = None
    try:
        days = preview_days(raw_days)
    except Invalid:
        values["error"] = f"Enter a number of days from 1 to {MAX_PREVIEW_DAYS}"
    else:
        try:
            summary = await managed.preview(page.service_id, draft_id, days)
        except Invalid as invalid:  # the draft no longer loads: the page says so already
            values["error"] = _error_words(invalid)
    if summary is not None:
        pages = max(1, -(-len(summary.changes) // PER_PAGE))
        number = _page_number(request.query.get("page"), pages)
        shown = summary.changes[(number - 1) * PER_PAGE : number * PER_PAGE]
        days_query = {"days": raw_days or str(PREVIEW_DAYS)}
        link = f"{page.base}/drafts/{draft_id}/preview?{urlencode(days_query)}&page="
        values |= {
            "counts": _counts(preview_counts(summary)),
            "changes": shown,
            "changed": len(summary.changes),
            "first_shown": (number - 1) * PER_PAGE + 1,
            "previous_link": link + str(number - 1) if number > 1 else None,
            "next_link": link + str(number + 1) if number < pages else None,
            "days": f"{days:g}",
        }
    return _render(
        request,
        page,
        "rules_preview.html",
        200 if values["error"] is None and text_error is None else 400,
        text_error=text_error,
        draft=drafted.draft,
        text=text,
        trial=trial,
        answers=answers,
        expects=expects,
        loads=draft_rules is not None,
        max_days=MAX_PREVIEW_DAYS,
        outcome_words=outcome_words,
        **values,
    )


def _counts(counts: Mapping[str, int]) -> list[tuple[str, list[tuple[str, int]]]]:
    return [(caption, [(words, counts[name]) for name, words in rows]) for caption, rows in COUNTS]


@dataclass(frozen=True)
class _Trial:
    """One typed message decided by the version in force and by the draft; with `expects`,
    also as a reply to a reminder expecting those (`*_reply`)."""

    in_force: Decision
    draft: Decision
    expects: tuple[Action, ...] = ()
    in_force_reply: Route | None = None
    draft_reply: Route | None = None

    @property
    def differs(self) -> bool:
        was, now = self.in_force, self.draft
        if (was.action, was.rule, was.reply) != (now.action, now.rule, now.reply):
            return True
        before, after = self.in_force_reply, self.draft_reply
        if before is None or after is None:
            return False
        return (before.status, before.review_reason) != (after.status, after.review_reason)


def _trial(
    request: web.Request,
    in_force: ServiceRules,
    draft: ServiceRules,
    text: str,
    expects: tuple[Action, ...],
) -> _Trial:
    decided = _Trial(Matcher(in_force).decide(text), Matcher(draft).decide(text), expects)
    if not expects:
        return decided
    now = datetime.now(UTC)
    # The draft alone, with the prompts settings it would publish (allow_change and the rest).
    return replace(
        decided,
        in_force_reply=as_reply(request.app[WEB].desk.rules(), in_force, text, expects, now),
        draft_reply=as_reply(CompiledRules(RuleBook([draft])), draft, text, expects, now),
    )


def _page_number(raw: str | None, pages: int) -> int:
    """`?page=` within 1..pages (1 for anything else: a link can't make the page fail)."""
    if raw is None or not raw.isdigit() or len(raw) > 6:
        return 1
    return min(max(int(raw), 1), pages)


# -- publish ----------------------------------------------------------------------------------


@_for_admins
async def publish_page(request: web.Request, page: _Page) -> web.StreamResponse:
    """GET: what publishing does, and a reason to give. POST: publish."""
    draft_id = int(request.match_info["draft"])
    managed = _managed(request)
    drafted = await managed.draft_of(page.service_id, draft_id)
    in_force = await managed.in_force(page.service_id)
    reason, error, problems = "", None, []
    status = 200
    if request.method == "POST":
        reason = forms.text(await forms.read_form(request), "reason")
        try:
            _require(reason, "Enter why you are publishing these rules")
            number = await managed.publish(page.service_id, draft_id, reason, page.actor)
        except ManagedInFiles:  # first: a service moved back to files is a Conflict too
            error, status = "These rules are managed in files: they can't be published here.", 409
        except Conflict:
            return await _conflict(request, page, draft_id)
        except Invalid as invalid:
            error, status = _error_words(invalid), 400
            problems = [str(problem) for problem in invalid.errors]
        else:
            return redirect(f"{page.base}/versions/{number}?done=published")
    changes = diff(in_force.yaml, drafted.draft.yaml)
    return _render(
        request,
        page,
        "rules_publish.html",
        status,
        draft=drafted.draft,
        in_force=in_force,
        changes=changes,
        reason=reason,
        error=error,
        problems=problems,
        reason_field=error is not None and not problems and status == 400,
        max_reason=MAX_REASON,
    )


async def _conflict(request: web.Request, page: _Page, draft_id: int) -> web.Response:
    """Another version came first: who published it and when; the draft is kept."""
    managed = _managed(request)
    drafted = await managed.draft_of(page.service_id, draft_id)
    versions = await managed.versions(page.service_id)
    latest = versions[0]
    since = [
        v for v in versions if drafted.draft.based_on is None or v.number > drafted.draft.based_on
    ]
    return _render(
        request,
        page,
        "rules_conflict.html",
        409,
        draft=drafted.draft,
        latest=latest,
        since=since,
    )


@_for_admins
async def restart_draft(request: web.Request, page: _Page) -> web.StreamResponse:
    """POST: a new draft from the version in force (after a conflict), opened for editing."""
    await forms.read_form(request)
    managed = _managed(request)
    try:
        await managed.draft_of(page.service_id, int(request.match_info["draft"]))
        in_force = await managed.in_force(page.service_id)
        drafted = await managed.draft(page.service_id, in_force.yaml, page.actor)
    except (NotFound, ManagedInFiles):
        return _not_found(request)
    return redirect(f"{page.base}/drafts/{drafted.draft.id}")


# -- versions ---------------------------------------------------------------------------------


@_for_admins
async def versions_page(request: web.Request, page: _Page) -> web.StreamResponse:
    managed = _managed(request)
    versions, in_force = await _history(managed, page.service_id)
    return _render(
        request,
        page,
        "rules_versions.html",
        versions=versions,
        in_force=in_force,
    )


@_for_admins
async def version_page(request: web.Request, page: _Page) -> web.StreamResponse:
    """One version: its rules as the rules page shows them, and its YAML."""
    number = int(request.match_info["number"])
    managed = _managed(request)
    version = await managed.version(page.service_id, number)
    found, in_force = await _history(managed, page.service_id)
    managed_versions = {v.number: v for v in found}
    # Said only of the version in force: a link can't make an older one claim to be.
    done = DONE.get(request.query.get("done", "")) if in_force == number else None
    return _render(
        request,
        page,
        "rules_version.html",
        version=version,
        in_force=in_force,
        latest=found[0],
        rules=_rules_of(page.service_id, version.yaml),
        done=done.format(number=number, to=_rolled_back_to(version, request, managed_versions))
        if done
        else None,
    )


def _rolled_back_to(
    version: RuleVersion, request: web.Request, versions: Mapping[int, RuleVersion]
) -> str:
    """The version a rollback took its rules from (`?from=`, believed only when its rules are
    this version's), else "an earlier one"."""
    earlier = _chosen(request.query.get("from"), versions)
    if earlier is None or earlier.yaml != version.yaml or earlier.number == version.number:
        return "an earlier version"
    return f"version {earlier.number}"


@_for_admins
async def diff_page(request: web.Request, page: _Page) -> web.StreamResponse:
    """Two versions' YAML line by line, and a form to choose them (first: the latest change)."""
    managed = _managed(request)
    versions, in_force = await _history(managed, page.service_id)
    by_number = {v.number: v for v in versions}
    raw_old, raw_new = request.query.get("from"), request.query.get("to")
    error, target = None, "from"
    old: RuleVersion | None = None
    new: RuleVersion | None = None
    if not versions:
        pass  # managed in files: the page says so
    elif raw_old is None and raw_new is None:
        old, new = by_number.get(versions[0].number - 1, versions[0]), versions[0]
    else:
        old, new = _chosen(raw_old, by_number), _chosen(raw_new, by_number)
        if old is None or new is None:
            target = "from" if old is None else "to"
            error = f"Choose the version to compare {target}"
    return _render(
        request,
        page,
        "rules_diff.html",
        200 if error is None else 400,
        versions=versions,
        in_force=in_force,
        old=old,
        new=new,
        changes=diff(old.yaml, new.yaml) if old is not None and new is not None else None,
        error=error,
        target=target,
    )


def _chosen(raw: str | None, versions: Mapping[int, RuleVersion]) -> RuleVersion | None:
    """The version `?from=` or `?to=` names; None for anything else."""
    if raw is None or not raw.isdigit() or len(raw) > 9:
        return None
    return versions.get(int(raw))


@_for_admins
async def rollback_page(request: web.Request, page: _Page) -> web.StreamResponse:
    """GET: what rolling back does, and a reason to give. POST: roll back."""
    number = int(request.match_info["number"])
    managed = _managed(request)
    target = await managed.version(page.service_id, number)
    versions, in_force = await _history(managed, page.service_id)
    latest = versions[0]
    reason, error, problems, status = "", None, [], 200
    if request.method == "POST":
        reason = forms.text(await forms.read_form(request), "reason")
        try:
            _require(reason, "Enter why you are rolling back")
            new = await managed.rollback(page.service_id, number, reason, page.actor)
        except ManagedInFiles:  # moved back to files since the page was shown
            error, status, in_force = "These rules are managed in files now.", 409, None
        except (Conflict, Invalid) as refused:
            error, status = _error_words(refused), 409 if isinstance(refused, Conflict) else 400
            problems = [str(p) for p in refused.errors] if isinstance(refused, Invalid) else []
        else:
            return redirect(f"{page.base}/versions/{new}?done=rolled-back&from={number}")
    return _render(
        request,
        page,
        "rules_rollback.html",
        status,
        target=target,
        latest=latest,
        in_force=in_force,
        changes=diff(latest.yaml, target.yaml),
        reason=reason,
        error=error,
        problems=problems,
        max_reason=MAX_REASON,
    )


def add_routes(app: web.Application) -> None:
    """The pages' routes, relative to /review."""
    base = "/services/{service}/rules"
    draft = base + r"/drafts/{draft:\d{1,9}}"
    version = base + r"/versions/{number:\d{1,9}}"
    app.router.add_get(draft + "/preview", preview_page)
    app.router.add_post(draft + "/preview", preview_page)
    app.router.add_get(draft + "/publish", publish_page)
    app.router.add_post(draft + "/publish", publish_page)
    app.router.add_post(draft + "/restart", restart_draft)
    app.router.add_get(base + "/versions", versions_page)
    app.router.add_get(base + "/versions/diff", diff_page)
    app.router.add_get(version, version_page)
    app.router.add_get(version + "/rollback", rollback_page)
    app.router.add_post(version + "/rollback", rollback_page)
