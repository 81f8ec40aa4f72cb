"""The rules API (/api/services/{service}/rules/…): rules managed in inbound, for service
teams that automate (issue 18; docs/rules.md, "Rules managed in inbound").

A personal token of someone in the service: its members may read, its service_admins change.
Another service's rules are a 404, as if it did not exist. Drafts take the YAML as the body.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbound import phone
from inbound.logs import get_logger
from inbound.managed_rules import (
    MAX_YAML,
    Actor,
    Conflict,
    Invalid,
    ManagedInFiles,
    ManagedRules,
    NotFound,
)
from inbound.review.rules_preview import MAX_CHANGES, preview_counts, preview_days
from inbound.review.site import client_address
from inbound.rules.load import RuleFileError
from inbound.rules.replay import ReplaySummary
from inbound.store.history import PastMessage
from inbound.store.models import RuleVersion
from inbound.store.users import Scope

MANAGED = web.AppKey("managed_rules", ManagedRules)
# Where the API's bearer middleware put the token's user's scope (`inbound.review.api.SCOPE`).
_SCOPE = web.AppKey("rules_scope_key", web.RequestKey[Scope])
_log = get_logger("api")
_ROLE_NEEDED = "changing a service's rules needs its service_admin role"


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}, **extra}, status=status)


def problem_json(error: RuleFileError) -> dict[str, Any]:
    """One problem in rules: its line and field (None where it has none), what and the fix."""
    return {
        "line": error.line,
        "field": error.field,
        "problem": error.problem,
        "fix": error.fix,
        "message": str(error),
    }


def version_json(version: RuleVersion, *, with_yaml: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": version.service_id,
        "version": version.number,
        "author": version.author,
        "created_at": version.created_at.isoformat(),
        "reason": version.reason,
        "based_on": version.based_on,
    }
    if with_yaml:
        body["yaml"] = version.yaml
    return body


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _service(request: web.Request, *, change: bool) -> tuple[str, Actor]:
    """The service of the path if the token's user is in it (a service_admin to `change`)."""
    scope = request[request.app[_SCOPE]]
    service = request.match_info["service"]
    role = scope.roles.get(service)
    if role is None:
        raise _Refused(_error(404, "not_found", "no such service among yours"))
    if change and role != "service_admin":
        raise _Refused(_error(403, "forbidden", _ROLE_NEEDED))
    return service, Actor(scope.email, scope.user_id, client_address(request))


async def _reason(request: web.Request) -> str:
    try:
        body = await request.json() if request.can_read_body else {}
    except (ValueError, LookupError, RecursionError):
        raise _Refused(_error(400, "bad_json", "the body is not JSON")) from None
    reason = body.get("reason", "") if isinstance(body, dict) else None
    if not isinstance(reason, str):
        raise _Refused(_error(422, "invalid", 'send {"reason": "why, in a few words"}'))
    return reason


def _answer(error: Exception) -> web.Response:
    """The one place the use cases' errors become HTTP answers."""
    if isinstance(error, NotFound):
        return _error(404, "not_found", f"no such {error}" if " " in str(error) else "not found")
    if isinstance(error, ManagedInFiles):
        return _error(
            409,
            "managed_in_files",
            f"service {error}'s rules are managed in files: change its rule file on the "
            "server, or move it into inbound with `inbound rules import FILE`",
        )
    if isinstance(error, Conflict):
        return _error(409, "conflict", str(error))
    if isinstance(error, Invalid):
        return _error(422, "invalid", str(error), errors=[problem_json(e) for e in error.errors])
    raise error


async def get_rules(request: web.Request) -> web.StreamResponse:
    try:
        service, _ = _service(request, change=False)
        found = await request.app[MANAGED].in_force(service)
    except _Refused as refused:
        return refused.response
    except NotFound as error:
        return _answer(error)
    body = {"service": service, "version": found.version, "managed": found.managed.value}
    return web.json_response({**body, "yaml": found.yaml})


async def post_draft(request: web.Request) -> web.StreamResponse:
    try:
        service, actor = _service(request, change=True)
        raw = await request.content.read(MAX_YAML + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _error(422, "invalid", "the body is not UTF-8 text: send the rules' YAML")
        drafted = await request.app[MANAGED].draft(service, text, actor)
    except _Refused as refused:
        return refused.response
    except (NotFound, ManagedInFiles, Invalid) as error:
        return _answer(error)
    _log.info("rules_draft_saved", service=service, draft=drafted.draft.id)
    return web.json_response(
        {
            "draft": drafted.draft.id,
            "based_on": drafted.draft.based_on,
            "errors": [],
            "warnings": [problem_json(warning) for warning in drafted.warnings],
        },
        status=201,
    )


async def publish(request: web.Request) -> web.StreamResponse:
    managed = request.app[MANAGED]
    try:
        service, actor = _service(request, change=True)
        draft = int(request.match_info["draft"])
        number = await managed.publish(service, draft, await _reason(request), actor)
        version = await managed.version(service, number)
    except _Refused as refused:
        return refused.response
    except (NotFound, ManagedInFiles, Conflict, Invalid) as error:
        return _answer(error)
    _log.info("rules_published", service=service, version=number, draft=draft)
    return web.json_response(version_json(version), status=201)


def preview_json(summary: ReplaySummary[PastMessage]) -> dict[str, Any]:
    """Each change (numbers masked, text in full as elsewhere in the API) and the counts."""
    changes = [
        {
            "message": {
                "id": change.message.provider_message_id,
                "from": phone.mask(change.message.sender),
                "text": change.message.text,
                "received_at": change.message.received_at.isoformat(),
                "caseworker": change.message.decided,
            },
            "before": change.before,
            "after": change.now,
        }
        for change in summary.changes[:MAX_CHANGES]
    ]
    counts = preview_counts(summary)
    return {"changes": changes, "more": len(summary.changes) > MAX_CHANGES, "counts": counts}


async def preview(request: web.Request) -> web.StreamResponse:
    try:
        service, _ = _service(request, change=True)
        draft = int(request.match_info["draft"])
        days = preview_days(request.query.get("days"))
        summary = await request.app[MANAGED].preview(service, draft, days)
    except _Refused as refused:
        return refused.response
    except (NotFound, Invalid) as error:
        return _answer(error)
    return web.json_response(preview_json(summary))


async def list_versions(request: web.Request) -> web.StreamResponse:
    try:
        service, _ = _service(request, change=False)
        found = await request.app[MANAGED].versions(service)
    except _Refused as refused:
        return refused.response
    except NotFound as error:
        return _answer(error)
    return web.json_response(
        {
            "service": service,
            "managed": "inbound" if found else "files",
            "in_force": found[0].number if found else None,
            "versions": [version_json(v, with_yaml=False) for v in found],
        }
    )


async def get_version(request: web.Request) -> web.StreamResponse:
    try:
        service, _ = _service(request, change=False)
        number = int(request.match_info["number"])
        version = await request.app[MANAGED].version(service, number)
    except _Refused as refused:
        return refused.response
    except NotFound as error:
        return _answer(error)
    return web.json_response(version_json(version))


async def rollback(request: web.Request) -> web.StreamResponse:
    managed = request.app[MANAGED]
    try:
        service, actor = _service(request, change=True)
        target = int(request.match_info["number"])
        number = await managed.rollback(service, target, await _reason(request), actor)
        version = await managed.version(service, number)
    except _Refused as refused:
        return refused.response
    except (NotFound, Conflict, Invalid) as error:
        return _answer(error)
    _log.info("rules_rolled_back", service=service, version=number, to=target)
    return web.json_response(version_json(version), status=201)


def add_routes(app: web.Application, managed: ManagedRules, scope: web.RequestKey[Scope]) -> None:
    """Add the rules routes to the API app (mounted at /api); `scope` is where the bearer
    middleware puts the user's scope."""
    app[MANAGED] = managed
    app[_SCOPE] = scope
    base = "/services/{service}/rules"
    app.router.add_get(base, get_rules)
    app.router.add_post(base + "/drafts", post_draft)
    app.router.add_post(base + r"/drafts/{draft:\d{1,9}}/publish", publish)
    app.router.add_post(base + r"/drafts/{draft:\d{1,9}}/preview", preview)
    app.router.add_get(base + "/versions", list_versions)
    app.router.add_get(base + r"/versions/{number:\d{1,9}}", get_version)
    app.router.add_post(base + r"/versions/{number:\d{1,9}}/rollback", rollback)
