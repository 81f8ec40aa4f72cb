"""The review queue's web pages (/review/): the queue, an item, the rules.

Handlers only translate HTTP into Desk calls. Security lives in `site.py`'s middlewares (headers,
the server-side session, CSRF on every POST); signing in lives in `sign_in.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from inbound.config import Settings
from inbound.managed_rules import ManagedRules
from inbound.outcome import Route
from inbound.prompts.trial import as_reply
from inbound.review import forms, labels, parameters
from inbound.review.decisions import (
    CAPTURES,
    MAX_REPLY,
    MAX_REPLY_UCS2,
    UNDO_WINDOW,
    Invalid,
    Refused,
    reply_length,
)
from inbound.review.desk import Desk, NotFound, ReplyChoice, reference_hint
from inbound.review.expects_form import answerable, ticked
from inbound.review.forms import FormInvalid
from inbound.review.opt_outs import add_routes as add_opt_out_routes
from inbound.review.parameters import BadParameter
from inbound.review.queue_actions import add_routes as add_queue_action_routes
from inbound.review.queue_actions import queue_extras
from inbound.review.queue_export import queue_csv
from inbound.review.rules_access import rules_admin
from inbound.review.rules_editor import add_routes as add_rules_editor_routes
from inbound.review.rules_editor import where_kept
from inbound.review.rules_publishing import add_routes as add_rules_publishing_routes
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
from inbound.review.suggestions_page import add_routes as add_suggestions_routes
from inbound.review.team import add_routes as add_team_routes
from inbound.review.undelivered import add_routes as add_undelivered_routes
from inbound.rules.match import Matcher
from inbound.rules.model import Action, ServiceRules
from inbound.store.models import ReviewItem
from inbound.store.review import STATES, QueueFilter

# What the item page says after each action; `?done=` names a key, never the text, so a link
# can't make the page say anything else. An unknown key says nothing.
DONE: Mapping[str, str] = {
    "claim": "Done: claimed. No one else can decide, reply or dismiss it while you hold it.",
    "release": "Done: released. The item is back in the queue for anyone to claim.",
    "decide": "Decision recorded. The item is closed.",
    "decide-reply": "Decision recorded and reply queued. The item is closed.",
    "none": "Closed: no action needed.",
    "undo": "Undone. The item is yours again, with no decision: nothing was sent.",
    "next": "Decision recorded on the previous item. This is the next open one.",
    "reply": "Done: reply queued. It is sent within moments.",
    "dismiss": "Done: dismissed. The item is closed.",
    "note": "Done: note added.",
}

# What may be posted to /review/items/{id}/{action}.
ITEM_ACTIONS = frozenset({"claim", "release", "decide", "undo", "reply", "dismiss", "note"})

# -- the queue and an item --------------------------------------------------------------------


def _filter(query: Mapping[str, str]) -> QueueFilter:
    """The caseworker's filter from the query string; BadParameter for a value that can't be
    one (a malformed or out-of-range cursor, a control character in a search)."""
    state = query.get("state", "")
    received_from, received_until = parameters.received_between(
        parameters.day(query.get("received_from", ""), "received_from"),
        parameters.day(query.get("received_to", ""), "received_to"),
    )
    return QueueFilter(
        service=parameters.service(query.get("service", "")),
        reason=parameters.search(query.get("reason", ""), "reason"),
        states=(state,) if state in STATES else (),
        mine=query.get("mine") == "1",
        text=parameters.search(query.get("q", ""), "q"),
        after=parameters.parse_cursor(query.get("after", "")),
        before=parameters.parse_cursor(query.get("before", ""), "before"),
        received_from=received_from,
        received_until=received_until,
    )


def bad_request(request: web.Request, message: str) -> web.Response:
    """A 400 page that says what was wrong and where to go from here."""
    return render(request, "bad_request.html", 400, message=message)


async def queue_page(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    try:
        wanted = _filter(request.query)
    except BadParameter as bad:
        return bad_request(request, f"The queue can't be shown for {bad.name}=: {bad.why}.")
    try:
        shown = await request.app[WEB].desk.queue(
            scope, wanted, client_address(request), by_reason=True
        )
    except NotFound:
        return render(request, "not_found.html", 404)
    page = shown.page
    query = request.query
    return render(
        request,
        "queue.html",
        page=page,
        prompt_of=shown.reference,
        wanted=wanted,
        reasons=[
            (group, _queue_link(query, reason=group.words), group.words == wanted.reason)
            for group in shown.reasons
        ],
        all_reasons=_queue_link(query, reason=None),
        reason_grouped=any(group.words == wanted.reason for group in shown.reasons),
        previous_link=(
            _queue_link(query, before=page.previous_before) if page.previous_before else None
        ),
        next_link=_queue_link(query, after=page.next_after) if page.next_after else None,
        states=STATES,
        # The days as typed (checked by _filter above), and the same filter for the download.
        received_from=query.get("received_from", ""),
        received_to=query.get("received_to", ""),
        csv_query=_without_cursor(query),
        extras=await queue_extras(request, scope),
    )


def _queue_link(
    query: Mapping[str, str],
    *,
    reason: str | None = "",
    after: tuple[datetime, int] | None = None,
    before: tuple[datetime, int] | None = None,
) -> str:
    """The queue's URL for the same filter: from its first row, or from a cursor (`after` or
    `before`), or with another reason (None: any reason; the default keeps the query's)."""
    kept = {name: value for name, value in query.items() if name not in CURSORS}
    if reason is None:
        kept.pop("reason", None)
    elif reason:
        kept["reason"] = reason
    if after is not None:
        kept["after"] = parameters.cursor(after)
    elif before is not None:
        kept["before"] = parameters.cursor(before)
    return "/review/" + ("?" + urlencode(kept) if kept else "")


# The query parameters that say where in the queue a page starts.
CURSORS = ("after", "before")


def _without_cursor(query: Mapping[str, str]) -> str:
    """The query string of the same filter from its first row: `?…`, or empty."""
    kept = {name: value for name, value in query.items() if name not in CURSORS}
    return "?" + urlencode(kept) if kept else ""


# The words a page needs for an empty choice; the field names the radios' group.
CHOOSE = "Select what to do with this reply"


def _errors(error: str | None, field: str | None) -> list[tuple[str | None, str]]:
    """The error summary's entries: (field or None, message); a field's starts with a capital,
    as it is shown by the field too."""
    if error is None:
        return []
    return [(field, error[:1].upper() + error[1:] if field else error)]


def _undo_until(item: ReviewItem, user_id: int, now: datetime) -> datetime | None:
    """Until when the page offers to undo the item's decision: its maker, within the window,
    and not an opt-out or opt-in (the register changes at once)."""
    if item.decided_by != user_id or item.decided_at is None:
        return None
    until = item.decided_at + UNDO_WINDOW
    return until if now < until and item.decision not in ("opt_out", "opt_in") else None


def capture_fields(service: ServiceRules) -> tuple[str, ...]:
    """The captures the decide form asks for: details always, a reference or a rating only
    when one of the service's rules captures one."""
    provided = {name for rule in service.rules for name in rule.provided_captures()}
    return tuple(name for name in CAPTURES if name == "details" or name in provided)


async def item_page(
    request: web.Request,
    error: str | None = None,
    status: int = 200,
    field: str | None = None,
    chosen: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    item_id = parameters.item_id(request.match_info["item"])
    try:
        if item_id is None:
            raise NotFound
        detail = await request.app[WEB].desk.view(scope, item_id, client_address(request))
    except NotFound:
        return render(request, "not_found.html", 404)
    item = detail.view.item
    desk = request.app[WEB].desk
    service = desk.rules().service(item.service_id) if item.service_id else None
    done_key = request.query.get("done", "")
    now = datetime.now(UTC)
    undo_until = _undo_until(item, scope.user_id, now)
    # After "Save and go to next item": the banner names the item just decided, with its undo.
    previous = None
    if done_key == "next":
        previous_id = parameters.item_id(request.query.get("previous", ""))
        if previous_id is not None and previous_id != item.id:
            previous = await desk.own_decision(scope, previous_id)
        if previous is not None:
            undo_until = _undo_until(previous, scope.user_id, now)
    return render(
        request,
        "item.html",
        status,
        view=detail.view,
        service=service,
        choices=labels.choices(service) if service is not None else (),
        capture_fields=capture_fields(service) if service is not None else (),
        reference_hint=reference_hint(service) if service is not None else "",
        decided_label=labels.label(service, item.decision or ""),
        label_of=lambda action: labels.label(service, str(action)),
        done_key=done_key,
        previous=previous,
        undo_until=undo_until,
        errors=_errors(error, field),
        chosen=chosen or {},
        conversation=detail.conversation,
        replies=detail.replies,
        reply_refusal=detail.reply_refusal,
        canned=detail.canned,
        canned_only=detail.canned_only,
        segments_line=reply_length,
        max_reply=MAX_REPLY,
        max_reply_ucs2=MAX_REPLY_UCS2,
        error=error,
        captures=CAPTURES,
        mine=detail.view.item.claimed_by == scope.user_id,
        done=DONE.get(request.query.get("done", "")),
    )


async def item_action(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    item_id = parameters.item_id(request.match_info["item"])
    what = request.match_info["action"]
    if item_id is None or what not in ITEM_ACTIONS:
        return render(request, "not_found.html", 404)
    desk, address = request.app[WEB].desk, client_address(request)
    chosen: dict[str, str] = {}
    try:
        form = await forms.read_form(request)
        if what == "claim":
            await desk.claim(scope, item_id, address)
        elif what == "release":
            await desk.release(scope, item_id, address)
        elif what == "decide":
            chosen = {
                name: forms.text(form, name)
                for name in ("decision", "then", *CAPTURES, *DECIDE_REPLY)
            }
            checked = await _decide(
                request, item_id, chosen, forms.text(form, "confirmed"), forms.text(form, "change")
            )
            if checked is not None:
                return checked
            if chosen["decision"] == labels.NO_ACTION:
                what = "none"
            elif _decide_reply(chosen) is not None:
                what = "decide-reply"
            if chosen["then"] == "next":
                following = await desk.next_open(scope, item_id)
                if following is not None:
                    return redirect(f"/review/items/{following}?done=next&previous={item_id}")
        elif what == "undo":
            await desk.undo(scope, item_id, address)
        elif what == "reply":
            chosen = {name: forms.text(form, name) for name in ("canned", "text")}
            await desk.reply(scope, item_id, chosen["text"], address, canned=chosen["canned"])
        elif what == "dismiss":
            await desk.dismiss(scope, item_id, forms.text(form, "reason"), address)
        else:
            await desk.note(scope, item_id, forms.text(form, "text"), address)
    except FormInvalid as invalid:
        return bad_request(request, f"The form was not sent as the page sends it: {invalid}.")
    except NotFound:
        return render(request, "not_found.html", 404)
    except Invalid as invalid:
        return await item_page(
            request, error=str(invalid), status=400, field=invalid.field, chosen=chosen
        )
    except Refused as refused:
        return await item_page(request, error=str(refused), status=409, chosen=chosen)
    return redirect(f"/review/items/{item_id}?done={what}")


async def _decide(
    request: web.Request, item_id: int, chosen: Mapping[str, str], confirmed: str, change: str
) -> web.StreamResponse | None:
    """Make the chosen decision, or, when it sends something and isn't confirmed yet, the
    "Check your decision" page saying what it will do. None once it is made."""
    scope = signed_in(request)
    assert scope is not None
    desk, address = request.app[WEB].desk, client_address(request)
    action = chosen["decision"]
    if not action:
        raise Invalid(CHOOSE, "decision")
    reply = _decide_reply(chosen)
    if action == labels.NO_ACTION:
        await desk.dismiss(scope, item_id, labels.NO_ACTION_LABEL, address, reply=reply, hold=True)
        return None
    if change == "yes":  # "Change" on the check page: the form again, as they filled it
        return await item_page(request, chosen=chosen)
    captures = {name: chosen[name] for name in CAPTURES}
    preview = await desk.preview(scope, item_id, action, captures, address, reply=reply)
    needs_check = preview.consequences.needs_check or preview.reply is not None
    if needs_check and confirmed != "yes":
        service = desk.rules().service(preview.service_id)
        return render(
            request,
            "check_decision.html",
            item_id=item_id,
            preview=preview,
            chosen=chosen,
            captures=CAPTURES,
            label=labels.label(service, action),
            undo_seconds=int(UNDO_WINDOW.total_seconds()),
        )
    await desk.decide(scope, item_id, action, captures, address, hold=True, reply=reply)
    return None


# The decide form's reply fields ("Decide and reply"): a canned reply's name, the text.
DECIDE_REPLY = ("reply_canned", "reply_text")


def _decide_reply(chosen: Mapping[str, str]) -> ReplyChoice | None:
    """The reply posted with a decision; None when the caseworker left it out."""
    canned, text = (chosen.get(name, "") for name in DECIDE_REPLY)
    if not canned and not text.strip():
        return None
    return ReplyChoice(canned, text, DECIDE_REPLY)


# -- rules ------------------------------------------------------------------------------------


async def rules_page(request: web.Request) -> web.StreamResponse:
    admin = await rules_admin(request, seen="view_rules")
    if isinstance(admin, web.Response):
        return admin
    service = admin.service
    desk = request.app[WEB].desk
    decision, text = None, ""
    expects: tuple[Action, ...] = ()
    routed: Route | None = None
    answers = answerable(service)
    if request.method == "POST":
        try:
            form = await forms.read_form(request)
            text = forms.text(form, "text")[:1000]
            expects = ticked(form, answers)
        except FormInvalid as invalid:
            return bad_request(request, f"The form was not sent as the page sends it: {invalid}.")
        decision = Matcher(service).decide(text)
        if expects:
            routed = as_reply(desk.rules(), service, text, expects, datetime.now(UTC))
    return render(
        request,
        "rules.html",
        service=service,
        in_force=await where_kept(request),
        drafts=await request.app[WEB].managed.open_drafts(service.service.id),
        decision=decision,
        text=text,
        answers=answers,
        expects=expects,
        routed=routed,
    )


def add_routes(app: web.Application) -> None:
    """Routes relative to the /review prefix the application is mounted at."""
    add_sign_in_routes(app)
    app.router.add_get("/", queue_page)
    app.router.add_get("/queue.csv", queue_csv(_filter))
    app.router.add_get("/items/{item}", item_page)
    app.router.add_post("/items/{item}/{action}", item_action)
    app.router.add_get("/services/{service}/rules", rules_page)
    app.router.add_post("/services/{service}/rules", rules_page)
    add_undelivered_routes(app)
    add_queue_action_routes(app)
    add_team_routes(app)
    add_opt_out_routes(app)
    add_suggestions_routes(app)
    add_rules_publishing_routes(app)
    add_rules_editor_routes(app)
    app.router.add_static("/static/", HERE / "static")


def review_app(desk: Desk, settings: Settings) -> web.Application:
    """The pages as an application of their own, mounted at /review, with its middlewares."""
    app = web.Application(middlewares=[security_headers, sessions, csrf])
    app[WEB] = Web(desk, settings, templates(), ManagedRules(desk.sessions, settings.rules_dir))
    add_routes(app)
    return app
