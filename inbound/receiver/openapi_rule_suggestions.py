"""The OpenAPI description of GET /api/services/{service}/rules/suggestions (issue 18):
keywords learnt from caseworkers' decisions (`inbound.review.suggestions_api`)."""

from __future__ import annotations

from typing import Any

from inbound.rules.suggestions import DEFAULT_DAYS, DEFAULT_MINIMUM, MAX_DAYS

PATH = "/api/services/{service}/rules/suggestions"


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _whole(name: str, default: int, top: int, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": top, "default": default},
        "description": description,
    }


def paths() -> dict[str, Any]:
    """The one path."""
    listing = {"type": "array", "items": {"$ref": "#/components/schemas/RuleSuggestion"}}
    return {
        PATH: {
            "get": {
                "operationId": "rule_suggestions",
                "summary": "Keywords the service's caseworkers taught: a reply (normalised as "
                "the rules read it) decided with the same action at least `min` times and "
                "never otherwise (a dismissal is otherwise), which the rules don't already "
                "decide that way, and whose keyword would change no automatic outcome of the "
                "replies of the last `days` days. Most decisions first. Read only: adding one "
                "is a person's edit to the rules. A personal token of a service_admin of the "
                "service.",
                "security": [{"token": []}],
                "parameters": [
                    {
                        "name": "service",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                        "description": "The service's id, as in its rule file.",
                    },
                    _whole(
                        "min",
                        DEFAULT_MINIMUM,
                        1000,
                        "How many decisions, all the same, a reply needs.",
                    ),
                    _whole(
                        "days",
                        DEFAULT_DAYS,
                        MAX_DAYS,
                        "The decisions and the replies (for the impact) of the last DAYS days; "
                        "a reply purged after the service's retention teaches nothing.",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The suggestions (an empty list when there are none).",
                        "content": {"application/json": {"schema": listing}},
                    },
                    "400": _error("`min` or `days` is not a whole number in range."),
                    "401": _error("No token, or one that is unknown, expired or revoked."),
                    "403": _error(
                        "A caseworker of the service (only its service_admins see suggestions), "
                        "or a service token."
                    ),
                    "404": _error("No such service among the token's services."),
                },
            }
        }
    }


def schemas() -> dict[str, Any]:
    """One suggestion."""
    count = {"type": "integer", "minimum": 0}
    ids = {"type": "array", "items": {"type": "integer"}}
    return {
        "RuleSuggestion": {
            "type": "object",
            "required": ["text", "action", "rule", "decisions", "impact"],
            "properties": {
                "text": {
                    "type": "string",
                    "description": "The keyword to add: the reply as the rules read it "
                    "(lower case, without punctuation), for `match: only`.",
                },
                "action": {"type": "string", "description": "What caseworkers decided."},
                "rule": {
                    "type": ["string", "null"],
                    "description": "The rule the keyword would join (the first `match: only` "
                    "rule with that action); null: a rule of its own.",
                },
                "decisions": {
                    "type": "object",
                    "required": ["count", "messages", "items"],
                    "properties": {
                        "count": count,
                        "messages": {**ids, "description": "The decided messages' ids."},
                        "items": {
                            **ids,
                            "description": "Their review items (GET /api/items/{item}).",
                        },
                    },
                },
                "impact": {
                    "type": "object",
                    "description": "The rules with and without the keyword over the replies "
                    "of the last `days` days.",
                    "required": ["replayed", "newly_automatic", "changed"],
                    "properties": {
                        "replayed": count,
                        "newly_automatic": {
                            **count,
                            "description": "Replies sent to a person that would be handled.",
                        },
                        "changed": {
                            **count,
                            "description": "Automatic outcomes that would change: always 0.",
                        },
                    },
                },
            },
        }
    }
