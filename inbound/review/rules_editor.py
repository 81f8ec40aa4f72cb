"""The rule editor's pages (/review/services/{service}/rules/drafts/…): a service's admins start
a draft from the version in force, then add, change, move and remove rules with forms, or edit
the YAML itself (issue 18; docs/rules.md).

Handlers only translate: the form is `rule_form`, the YAML edits `rules.editing`, and every
change is saved through `ManagedRules.change_draft`, which checks the whole draft as any draft is
checked, so nothing invalid is ever saved. Publishing (and its audit) is on the publish page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from inbound.managed_rules import (
    MAX_YAML,
    Actor,
    DraftChanged,
    Drafted,
    InForce,
    Invalid,
    ManagedInFiles,
    NotFound,
    revision,
)
from inbound.review import forms, labels, parameters
from inbound.review.rule_form import (
    ACTION_WORDS,
    CAPTURE_WORDS,
    FORMAT,
    MATCH_WORDS,
    NO_REFERENCE,
    REGEX,
    FieldError,
    FormErrors,
    RuleForm,
    blank,
    draft_errors,
    formats_for,
    from_fields,
    from_rule,
    keywords_id,
    languages_of,
    reply_id,
    to_rule,
)
from inbound.review.rules_access import rules_admin
from inbound.review.site import WEB, client_address, redirect, render
from inbound.rules.adopting import added_banner
from inbound.rules.editing import EditError, add_rule, move_rule, remove_rule, replace_rule
from inbound.rules.language import language_name
from inbound.rules.load import RuleFileError
from inbound.rules.managed import check_version
from inbound.rules.model import CAPTURE_NAMES, Action, MatchKind, ServiceRules
from inbound.store.users import Scope

# The draft page's banner after each change; `?done=` names a key and `?rule=` a rule number
# looked up in the draft, so a link can't make the page say anything else.
DONE: Mapping[str, str] = {
    "started": "Draft started. Nothing changes for people texting the service until it is "
    "published.",
    "added": "Rule ‘{name}’ added.",
    "changed": "Rule ‘{name}’ changed.",
    "moved": "Rule ‘{name}’ moved.",
    "removed": "Rule removed.",
    "yaml": "The YAML is saved.",
}
MANAGED_IN_FILES = (
    "These rules are managed in files: change the rule file on the server, or move the "
    "service into inbound with `inbound rules import FILE`."
)
# When a form's page showed an earlier draft: what was typed stays on the page, unsaved.
FORM_KEPT = (
    "Someone saved this draft since you opened this page (in another tab, or another admin), "
    "so your change was not saved. It is still in the form: check the draft, then save again."
)
YAML_KEPT = (
    "Someone saved this draft since you opened this page (in another tab, or another admin), "
    "so your YAML was not saved. It is still below; saving it again replaces their change, so "
    "look at the draft in another tab first."
)
CHANGED_MEANWHILE = (
    "The draft changed since this page was opened (in another tab or by another admin): "
    "go back to the draft and try again."
)


def _base(service_id: str) -> str:
    return f"/review/services/{service_id}/rules"


def _draft_url(service_id: str, draft_id: int) -> str:
    return f"{_base(service_id)}/drafts/{draft_id}"


@dataclass(frozen=True)
class _Draft:
    """A draft as the pages need it: who asks, the service in force, the draft, its rules."""

    scope: Scope
    service_id: str
    in_force: ServiceRules
    drafted: Drafted
    rules: ServiceRules | None  # None: it no longer loads (the code changed since it was saved)

    @property
    def url(self) -> str:
        return _draft_url(self.service_id, self.drafted.draft.id)

    @property
    def revision(self) -> str:
        """What the page's forms send back, so a save over someone else's is refused."""
        return revision(self.drafted.draft.yaml)

    def stale(self, posted: forms.Form) -> bool:
        """True when the posting page showed an earlier state of the draft."""
        return forms.text(posted, "revision") != self.revision

    @property
    def languages(self) -> tuple[str, ...] | None:
        return languages_of(self.rules or self.in_force)

    @property
    def region(self) -> str:
        return (self.rules or self.in_force).service.region


async def _open(request: web.Request) -> _Draft | web.StreamResponse:
    """The path's draft for one of the service's admins; else the page to answer with."""
    admin = await rules_admin(request)
    if isinstance(admin, web.Response):
        return admin
    service_id = request.match_info["service"]
    try:
        drafted = await request.app[WEB].managed.draft_of(
            service_id, int(request.match_info["draft"])
        )
    except NotFound:
        return render(request, "not_found.html", 404)
    report = check_version(service_id, None, drafted.draft.yaml)
    rules = report.services[0][1] if report.services else None
    return _Draft(admin.scope, service_id, admin.service, drafted, rules)


def _rule_number(request: web.Request, draft: _Draft) -> int | None:
    """The path's rule as an index into the draft's rules (the path counts from 1)."""
    number = parameters.item_id(request.match_info["rule"])
    if number is None or draft.rules is None or not 1 <= number <= len(draft.rules.rules):
        return None
    return number - 1


async def where_kept(request: web.Request) -> InForce | None:
    """Where the path's service's rules are kept, for the rules page: files, or inbound and
    the version in force (None: in this process's rules, but gone from the folder since)."""
    try:
        return await request.app[WEB].managed.in_force(request.match_info["service"])
    except NotFound:
        return None


async def start_draft(request: web.Request) -> web.StreamResponse:
    """The rules page's "Edit rules": a draft of the version in force, then its page."""
    admin = await rules_admin(request)
    if isinstance(admin, web.Response):
        return admin
    service_id = request.match_info["service"]
    managed = request.app[WEB].managed
    actor = Actor(admin.scope.email, admin.scope.user_id, client_address(request))
    try:
        in_force = await managed.in_force(service_id)
        drafted = await managed.draft(service_id, in_force.yaml, actor)
    except NotFound:
        return render(request, "not_found.html", 404)
    except ManagedInFiles:
        return render(request, "error.html", 409, message=MANAGED_IN_FILES)
    except Invalid as invalid:  # the version in force no longer checks: the YAML page can fix it
        return render(request, "error.html", 409, message=f"A draft can't start: {invalid}.")
    return redirect(f"{_draft_url(service_id, drafted.draft.id)}?done=started")


async def draft_page(
    request: web.Request,
    opened: _Draft | None = None,
    errors: Sequence[FieldError] = (),
    status: int = 200,
) -> web.StreamResponse:
    draft = opened or await _open(request)
    if not isinstance(draft, _Draft):
        return draft
    done = None
    if not errors:
        words = DONE.get(request.query.get("done", ""))
        number = parameters.item_id(request.query.get("rule", ""))
        rules = draft.rules.rules if draft.rules is not None else []
        named = rules[number - 1].name if number and number <= len(rules) else None
        if words is not None and ("{name}" not in words or named is not None):
            done = words.format(name=named)
        elif request.query.get("done") == "suggested" and draft.rules is not None:
            # From the suggestions page: named only when the rule holds the keyword.
            done = added_banner(draft.rules, number, request.query.get("keyword", ""))
    in_force = await where_kept(request)
    newer = (
        in_force.version if in_force and in_force.version != draft.drafted.draft.based_on else None
    )
    return render(
        request,
        "rules_draft.html",
        status,
        newer=newer,
        service_id=draft.service_id,
        draft=draft.drafted.draft,
        rules=draft.rules,
        warnings=[_warning(w, draft.rules) for w in draft.drafted.warnings],
        url=draft.url,
        revision=draft.revision,
        done=done,
        errors=errors,
        action_words=_action_words(draft.rules or draft.in_force),
        language_name=language_name,
    )


_RULE_AT = re.compile(r"^rules\[(\d+)\]")


def _warning(warning: RuleFileError, rules: ServiceRules | None) -> str:
    """A warning of `rules check` in words, naming the rule it is about."""
    words = f"{warning.problem}. {warning.fix[:1].upper()}{warning.fix[1:]}."
    about = _RULE_AT.match(warning.field or "")
    if rules is not None and about is not None and int(about.group(1)) < len(rules.rules):
        number = int(about.group(1))
        return f"Rule {number + 1}, ‘{rules.rules[number].name}’: {words}"
    return words[:1].upper() + words[1:]


def _action_words(service: ServiceRules) -> Callable[[str], str]:
    """An action as the queue says it: the rule file's label, else plain words."""

    def words(action: str) -> str:
        if Action(action) in service.labels:
            return labels.label(service, action)
        return ACTION_WORDS.get(Action(action), action)

    return words


async def _save(draft: _Draft, request: web.Request, text: str) -> None:
    """The draft's new YAML, checked; `Invalid` (nothing saved) when it has errors,
    `DraftChanged` when someone saved the draft since this request read it."""
    await request.app[WEB].managed.change_draft(
        draft.service_id, draft.drafted.draft.id, text, was=draft.drafted.draft.yaml
    )


# -- a rule's form: add and change ------------------------------------------------------------


async def rule_form_page(request: web.Request) -> web.StreamResponse:
    """GET shows the form (empty to add, filled in to change); POST saves it."""
    draft = await _open(request)
    if not isinstance(draft, _Draft):
        return draft
    if draft.rules is None:
        return render(request, "error.html", 409, message=_NO_LONGER_LOADS)
    adding = "rule" not in request.match_info
    index = len(draft.rules.rules) if adding else _rule_number(request, draft)
    if index is None:
        return render(request, "not_found.html", 404)
    languages = draft.languages
    form = blank(languages) if adding else from_rule(draft.rules.rules[index], languages)
    errors: list[FieldError] = []
    if request.method == "POST":
        posted = await forms.read_form(request)
        if not adding and forms.text(posted, "was") != draft.rules.rules[index].name:
            return render(request, "error.html", 409, message=CHANGED_MEANWHILE)
        names = (
            "name",
            "match",
            "action",
            "reference",
            "reference-format",
            "reference-letters",
            "reference-digits",
            "reference-regex",
            "rating",
            *(keywords_id(slot) for slot in languages or ("",)),
            *(reply_id(slot) for slot in languages or ("",)),
        )
        requires = [str(value) for value in posted.getall("requires", [])]
        form = from_fields({name: forms.text(posted, name) for name in names}, requires, languages)
        try:
            if draft.stale(posted):
                raise DraftChanged(draft.drafted.draft.id)
            rule = to_rule(form, languages, draft.region)
            yaml = draft.drafted.draft.yaml
            text = add_rule(yaml, rule) if adding else replace_rule(yaml, index, rule)
            await _save(draft, request, text)
        except FormErrors as wrong:
            errors = wrong.errors
        except DraftChanged:
            errors = [FieldError(None, FORM_KEPT)]
        except EditError as wrong:
            errors = [FieldError(None, f"The draft's YAML can't take the change: {wrong}")]
        except Invalid as invalid:
            errors = draft_errors(invalid.errors, index, form, languages) or [
                FieldError(None, str(invalid))
            ]
        else:
            done = "added" if adding else "changed"
            return redirect(f"{draft.url}?done={done}&rule={index + 1}")
    return render(
        request,
        "rules_rule_form.html",
        400 if errors else 200,
        **_form_context(draft, form, errors, None if adding else index),
    )


_NO_LONGER_LOADS = (
    "This draft no longer loads with this version of inbound: change it with “Edit the YAML”."
)


def _form_context(
    draft: _Draft, form: RuleForm, errors: Sequence[FieldError], index: int | None
) -> dict[str, Any]:
    service = draft.rules or draft.in_force
    words = _action_words(service)
    field_error: dict[str, str] = {}
    for error in errors:
        if error.field is not None:
            field_error.setdefault(error.field, error.message)
    return {
        "service_id": draft.service_id,
        "draft": draft.drafted.draft,
        "url": draft.url,
        "revision": draft.revision,
        "index": index,
        "was": service.rules[index].name if index is not None else "",
        "form": form,
        "errors": errors,
        "field_error": field_error,
        "slots": draft.languages or ("",),
        "language_name": language_name,
        "keywords_id": keywords_id,
        "reply_id": reply_id,
        "matches": [(kind.value, *MATCH_WORDS[kind]) for kind in MatchKind],
        "actions": [(action.value, words(action.value)) for action in Action],
        "formats": formats_for(draft.region),
        "captures": [(name, CAPTURE_WORDS[name]) for name in CAPTURE_NAMES],
        "ref_none": NO_REFERENCE,
        "ref_format": FORMAT,
        "ref_regex": REGEX,
    }


# -- move and remove -------------------------------------------------------------------------


async def rule_change(request: web.Request) -> web.StreamResponse:
    """POST …/rules/{rule}/move (`direction` up or down) or …/remove."""
    draft = await _open(request)
    if not isinstance(draft, _Draft):
        return draft
    if draft.rules is None:
        return render(request, "error.html", 409, message=_NO_LONGER_LOADS)
    index = _rule_number(request, draft)
    what = request.match_info["change"]
    if index is None:
        return render(request, "not_found.html", 404)
    posted = await forms.read_form(request)
    if draft.stale(posted) or forms.text(posted, "was") != draft.rules.rules[index].name:
        return render(request, "error.html", 409, message=CHANGED_MEANWHILE)
    yaml = draft.drafted.draft.yaml
    try:
        if what == "remove":
            text, now = remove_rule(yaml, index), None
        else:
            direction = forms.text(posted, "direction")
            if direction not in ("up", "down"):
                raise forms.FormInvalid("direction", "is neither up nor down")
            offset = -1 if direction == "up" else 1
            text = move_rule(yaml, index, offset)
            now = max(0, min(index + offset, len(draft.rules.rules) - 1))
        await _save(draft, request, text)
    except DraftChanged:
        return render(request, "error.html", 409, message=CHANGED_MEANWHILE)
    except (EditError, Invalid) as wrong:
        problems = wrong.errors if isinstance(wrong, Invalid) else []
        errors = [FieldError(None, _problem(problem)) for problem in problems] or [
            FieldError(None, f"The draft can't take the change: {wrong}")
        ]
        return await draft_page(request, draft, errors, 400)
    if now is None:
        return redirect(f"{draft.url}?done=removed")
    return redirect(f"{draft.url}?done=moved&rule={now + 1}")


def _problem(error: RuleFileError) -> str:
    return (
        f"{error.problem[:1].upper()}{error.problem[1:]}. {error.fix[:1].upper()}{error.fix[1:]}."
    )


# -- the YAML ---------------------------------------------------------------------------------


async def yaml_page(request: web.Request) -> web.StreamResponse:
    """The draft's YAML in a textarea, for what the forms don't do; saved only without errors."""
    draft = await _open(request)
    if not isinstance(draft, _Draft):
        return draft
    text = draft.drafted.draft.yaml
    errors: list[RuleFileError] = []
    message = None
    if request.method == "POST":
        posted = await forms.read_form(request)
        text = forms.text(posted, "yaml").replace("\r\n", "\n")
        try:
            if draft.stale(posted):
                raise DraftChanged(draft.drafted.draft.id)
            await _save(draft, request, text)
        except Invalid as invalid:
            errors = invalid.errors
            message = None if errors else str(invalid)
        except DraftChanged:
            message = YAML_KEPT
        else:
            return redirect(f"{draft.url}?done=yaml")
    return render(
        request,
        "rules_yaml.html",
        400 if errors or message else 200,
        service_id=draft.service_id,
        draft=draft.drafted.draft,
        url=draft.url,
        revision=draft.revision,
        text=text,
        errors=errors,
        message=message,
        problem=_problem,
        max_yaml=MAX_YAML,
    )


def add_routes(app: web.Application) -> None:
    """The editor's routes, relative to the /review prefix."""
    base = "/services/{service}/rules"
    draft = base + r"/drafts/{draft:\d{1,9}}"
    app.router.add_post(base + "/drafts", start_draft)
    app.router.add_get(draft, draft_page)
    app.router.add_get(draft + "/rules/new", rule_form_page)
    app.router.add_post(draft + "/rules/new", rule_form_page)
    app.router.add_get(draft + r"/rules/{rule:\d{1,4}}", rule_form_page)
    app.router.add_post(draft + r"/rules/{rule:\d{1,4}}", rule_form_page)
    app.router.add_post(draft + r"/rules/{rule:\d{1,4}}/{change:move|remove}", rule_change)
    app.router.add_get(draft + "/yaml", yaml_page)
    app.router.add_post(draft + "/yaml", yaml_page)
