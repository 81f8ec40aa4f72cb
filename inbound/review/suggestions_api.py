"""`GET /api/services/{service}/rules/suggestions`: keywords learnt from the review queue.

Called with a personal token of a service_admin of that service (the bearer middleware in
`inbound.review.api` sets the user's scope). A service outside the user's services is a 404,
as if it didn't exist; a caseworker of the service gets a 403 naming the role needed.
Suggestions are only read: adding one to the rules is a person's edit (`docs/rules.md`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp import web

from inbound.logs import get_logger
from inbound.review.desk import Desk
from inbound.rules.suggestions import DEFAULT_DAYS, DEFAULT_MINIMUM, MAX_DAYS, as_json, suggest
from inbound.store.rule_suggestions import window
from inbound.store.users import Scope

_DESK = web.AppKey("suggestions_desk", Desk)
_log = get_logger("api")


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    error: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return web.json_response({"error": error}, status=status)


class _BadNumber(Exception):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(why)
        self.name, self.why = name, why


def _whole(request: web.Request, name: str, default: int, top: int) -> int:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        raise _BadNumber(name, f"a whole number from 1 to {top}")
    return int(raw)


async def suggestions(request: web.Request) -> web.StreamResponse:
    """The service's suggested keywords, most decisions first."""
    # Imported here: the API module registers this one, so it can't be imported at the top.
    from inbound.review.api import SCOPE

    scope: Scope = request[SCOPE]
    service_id = request.match_info["service"]
    desk = request.app[_DESK]
    rules = desk.rules().service(service_id)
    if not scope.can_see(service_id) or rules is None:
        return _error(404, "not_found", "no such service among yours")
    if not scope.is_admin_of(service_id):
        return _error(403, "forbidden", "suggestions are for the service's admins (service_admin)")
    try:
        minimum = _whole(request, "min", DEFAULT_MINIMUM, 1000)
        days = _whole(request, "days", DEFAULT_DAYS, MAX_DAYS)
    except _BadNumber as bad:
        return _error(400, "invalid", f"{bad.name}: {bad.why}", bad.name)
    since = datetime.now(UTC) - timedelta(days=days)
    async with desk.sessions() as session:
        decisions, replies = await window(session, rules, since)
    # Replaying a month of replies per candidate takes CPU for a while: off the event loop.
    found = await asyncio.to_thread(suggest, rules, decisions, replies, minimum)
    _log.info("rule_suggestions", service_id=service_id, count=len(found), days=days)
    return web.json_response([as_json(one) for one in found])


def add_routes(app: web.Application, desk: Desk) -> None:
    """Add the route to the API app (mounted at /api)."""
    app[_DESK] = desk
    app.router.add_get("/services/{service}/rules/suggestions", suggestions)
