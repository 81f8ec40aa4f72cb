"""The OpenAPI description of the rules API (/api/services/{service}/rules/…, issue 18):
rules managed in inbound, read by the service's members, changed by its service_admins."""

from __future__ import annotations

from typing import Any

_BASE = "/api/services/{service}/rules"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _path_param(name: str, description: str, integer: bool = False) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1} if integer else {"type": "string"}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


_SERVICE = _path_param("service", "The service's id.")
_DRAFT = _path_param("draft", "A draft's id, as a draft's 201 gave it.", integer=True)
_NUMBER = _path_param("number", "A version's number.", integer=True)
_REASON_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["reason"],
                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
            }
        }
    },
}
_NOT_YOURS = "No such service among the token's user's (another service's rules included)."
_NOT_ADMIN = "The token's user is in the service but not its service_admin."
_COMMON = {
    "401": _error("No token, or one that is unknown, expired or revoked."),
    "403": _error("A service token (these routes take a personal token), or: " + _NOT_ADMIN),
    "404": _error(_NOT_YOURS),
}


def _operation(operation_id: str, summary: str, **more: Any) -> dict[str, Any]:
    responses = {**more.pop("responses"), **_COMMON}
    return {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"token": []}],
        **more,
        "responses": dict(sorted(responses.items())),
    }


def paths() -> dict[str, Any]:
    """Every route of the rules API."""
    invalid = _json(
        _ref("RulesInvalid"),
        "The rules would not load: `errors` name each problem's line and field (nothing saved).",
    )
    version = _json(_ref("RuleVersion"), "The new version, now in force in every process.")
    return {
        _BASE: {
            "get": _operation(
                "rules_in_force",
                "The service's rules in force: its latest version when managed in inbound, "
                "its rule file's text (version null) when managed in files.",
                parameters=[_SERVICE],
                responses={"200": _json(_ref("RulesInForce"), "The rules in force.")},
            )
        },
        _BASE + "/drafts": {
            "post": _operation(
                "rules_draft",
                "Check a whole rule file (the YAML as the body) and keep it as a draft of the "
                "version in force. Warnings are those `inbound rules check` gives. Needs the "
                "service_admin role.",
                parameters=[_SERVICE],
                requestBody={
                    "required": True,
                    "content": {"application/yaml": {"schema": {"type": "string"}}},
                },
                responses={
                    "201": _json(_ref("RulesDraft"), "Saved as a draft (not yet in force)."),
                    "409": _error(
                        "The service's rules are managed in files: change the file, or "
                        "`inbound rules import` it first (code managed_in_files)."
                    ),
                    "422": invalid,
                },
            )
        },
        _BASE + "/drafts/{draft}/publish": {
            "post": _operation(
                "rules_publish",
                "Publish a draft as the next version, with a reason (audited). Every worker "
                "and receiver uses it within 2 s. Checked with the rest of the rule book first: "
                "a version that would not load is never published.",
                parameters=[_SERVICE, _DRAFT],
                requestBody=_REASON_BODY,
                responses={
                    "201": version,
                    "409": _error(
                        "Another version was published since the draft began: start a new "
                        "draft from the version in force (code conflict)."
                    ),
                    "422": invalid,
                },
            )
        },
        _BASE + "/drafts/{draft}/preview": {
            "post": _operation(
                "rules_preview",
                "Replay the service's stored messages of the last `days` days under a draft, as "
                "`inbound rules replay` does: each message the draft would treat differently "
                "(automatic outcome → another, review → now handled, handled → now review), "
                "with counts. Nothing is written. Needs the service_admin role.",
                parameters=[
                    _SERVICE,
                    _DRAFT,
                    {
                        "name": "days",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 90},
                        "description": "How far back to replay (default 7).",
                    },
                ],
                responses={
                    "200": _json(_ref("RulesPreview"), "What the draft would change."),
                    "422": _error("`days` is not a number of days from 1 to 90."),
                },
            )
        },
        _BASE + "/versions": {
            "get": _operation(
                "rules_versions",
                "The service's versions, newest first, without their YAML (empty when managed "
                "in files).",
                parameters=[_SERVICE],
                responses={"200": _json(_ref("RuleVersions"), "The versions.")},
            )
        },
        _BASE + "/versions/{number}": {
            "get": _operation(
                "rules_version",
                "One version, with its YAML.",
                parameters=[_SERVICE, _NUMBER],
                responses={"200": _json(_ref("RuleVersion"), "The version.")},
            )
        },
        _BASE + "/versions/{number}/rollback": {
            "post": _operation(
                "rules_rollback",
                "Publish an earlier version's rules again as a new version, with a reason "
                "(audited). Needs the service_admin role.",
                parameters=[_SERVICE, _NUMBER],
                requestBody=_REASON_BODY,
                responses={
                    "201": version,
                    "409": _error(
                        "The service's rules were moved back to a rule file (`inbound rules "
                        "export SERVICE --to-files`): its versions are history (code "
                        "managed_in_files)."
                    ),
                    "422": invalid,
                },
            )
        },
    }


def schemas() -> dict[str, Any]:
    """The rules API's bodies."""
    nullable_int = {"type": ["integer", "null"]}
    problem = {
        "type": "object",
        "required": ["line", "field", "problem", "fix", "message"],
        "properties": {
            "line": {**nullable_int, "description": "The line of the YAML, where known."},
            "field": {
                "type": ["string", "null"],
                "description": "Where in the rule file, e.g. rules[2].action.",
            },
            "problem": {"type": "string"},
            "fix": {"type": "string"},
            "message": {"type": "string", "description": "All of it in one line."},
        },
    }
    summary = {
        "service": {"type": "string"},
        "version": {"type": "integer"},
        "author": {"type": "string", "description": "The user's email, or who ran a command."},
        "created_at": {"type": "string", "format": "date-time"},
        "reason": {"type": "string"},
        "based_on": {
            **nullable_int,
            "description": "The version in force before (null: imported).",
        },
    }
    return {
        "RuleProblem": problem,
        "RulesInForce": {
            "type": "object",
            "required": ["service", "version", "managed", "yaml"],
            "properties": {
                "service": {"type": "string"},
                "version": {**nullable_int, "description": "Null when managed in files."},
                "managed": {"enum": ["files", "inbound"]},
                "yaml": {"type": "string"},
            },
        },
        "RulesDraft": {
            "type": "object",
            "required": ["draft", "based_on", "errors", "warnings"],
            "properties": {
                "draft": {"type": "integer"},
                "based_on": {"type": "integer", "description": "The version it changes."},
                "errors": {"type": "array", "maxItems": 0, "items": _ref("RuleProblem")},
                "warnings": {"type": "array", "items": _ref("RuleProblem")},
            },
        },
        "RulesInvalid": {
            "type": "object",
            "required": ["error", "errors"],
            "properties": {
                "error": _ref("Error"),
                "errors": {"type": "array", "items": _ref("RuleProblem")},
            },
        },
        "RulesPreview": {
            "type": "object",
            "required": ["changes", "more", "counts"],
            "properties": {
                "changes": {
                    "type": "array",
                    "maxItems": 1000,
                    "items": {
                        "type": "object",
                        "required": ["message", "before", "after"],
                        "properties": {
                            "message": {
                                "type": "object",
                                "description": "id (the provider's), from (masked), text, "
                                "received_at, caseworker (what a caseworker decided, or null).",
                            },
                            "before": {
                                "type": "string",
                                "description": "An action, `review` or `repeat`.",
                            },
                            "after": {
                                "type": "string",
                                "description": "The same, under the draft.",
                            },
                        },
                    },
                },
                "more": {"type": "boolean", "description": "More changes than listed."},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        },
        "RuleVersion": {
            "type": "object",
            "required": [*summary, "yaml"],
            "properties": {**summary, "yaml": {"type": "string"}},
        },
        "RuleVersions": {
            "type": "object",
            "required": ["service", "managed", "in_force", "versions"],
            "properties": {
                "service": {"type": "string"},
                "managed": {"enum": ["files", "inbound"]},
                "in_force": nullable_int,
                "versions": {
                    "type": "array",
                    "items": {"type": "object", "required": list(summary), "properties": summary},
                },
            },
        },
    }
