"""The queue's own actions (/review/queue/selected): dismiss, release or assign the ticked
items in one POST, and what the queue page needs to offer them.

Handlers only translate HTTP into `assignment` calls. The result comes back to the queue as
codes in the query string (`queue_decisions.Summary.query`), never as text, so a link can't
make the banner say anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from inbound.review import forms
from inbound.review.assignment import NotColleague, QueueTools, bulk, queue_tools
from inbound.review.decisions import Invalid
from inbound.review.forms import FormInvalid
from inbound.review.queue_decisions import Bulk, Summary, selected, summary_from
from inbound.review.site import WEB, client_address, redirect, render, signed_in
from inbound.store.users import Scope

# What the error summary says for each `?bulk_error=` code, and the field it links to.
BULK_ERRORS: Mapping[str, tuple[str, str]] = {
    "none": ("Select at least one item", "items-heading"),
    "reason": ("Enter why you are dismissing the selected items", "bulk-reason"),
    "assignee": ("Select a colleague from your services to assign the items to", "bulk-assignee"),
}


@dataclass(frozen=True)
class QueueExtras:
    """The queue page's bulk actions: colleagues to offer, the last result, any error."""

    tools: QueueTools
    summary: Summary | None
    error: tuple[str, str] | None  # (message, id of the field it is about)


async def queue_extras(request: web.Request, scope: Scope) -> QueueExtras:
    """What queue.html needs for ticking items and acting on them."""
    tools = await queue_tools(request.app[WEB].desk, scope)
    error = BULK_ERRORS.get(request.query.get("bulk_error", ""))
    return QueueExtras(tools, summary_from(request.query), error)


async def act_on_selected(request: web.Request) -> web.StreamResponse:
    scope = signed_in(request)
    if scope is None:
        return redirect("/review/sign-in")
    try:
        form = await forms.read_form(request)
        act = Bulk(forms.text(form, "do"))
        ids = selected([value for value in form.getall("item", []) if isinstance(value, str)])
    except (FormInvalid, ValueError) as invalid:
        return render(
            request,
            "bad_request.html",
            400,
            message=f"The form was not sent as the page sends it: {invalid}.",
        )
    if not ids:
        return redirect("/review/?bulk_error=none")
    try:
        summary = await bulk(
            request.app[WEB].desk,
            scope,
            act,
            ids,
            client_address(request),
            reason=forms.text(form, "reason"),
            email=forms.text(form, "assignee"),
        )
    except NotColleague:
        return redirect("/review/?bulk_error=assignee")
    except Invalid:
        return redirect("/review/?bulk_error=reason")
    return redirect(f"/review/?{summary.query()}")


def add_routes(app: web.Application) -> None:
    """The queue's bulk action, relative to /review."""
    app.router.add_post("/queue/selected", act_on_selected)
