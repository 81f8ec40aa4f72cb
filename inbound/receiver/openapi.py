"""The OpenAPI document for the HTTP endpoints this server exposes, built from its providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbound.providers.base import Provider
from inbound.providers.generic import GenericPayload

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}

_REFUSALS = {
    "400": "The body can't be decoded (bad JSON, bad encoding).",
    "401": "No signature or credentials.",
    "403": "The signature or credentials don't match.",
    "405": "This provider doesn't use that HTTP method.",
    "413": "The body is over the size limit.",
    "415": "A content type the provider never sends.",
    "422": "A field is missing or malformed; `field` names it.",
    "503": "RabbitMQ did not confirm the message; nothing was stored. Retry.",
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(name: str, method: str) -> dict[str, Any]:
    if name == "generic":
        body_schemas: dict[str, Any] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/GenericMessage"}}
        }
    else:
        body_schemas = {
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "application/json": {"schema": {}},
            "text/plain": {"schema": {"type": "string"}},
        }
    operation: dict[str, Any] = {
        "operationId": f"{name}_{method}",
        "summary": f"{name} inbound-SMS webhook",
        "description": "Answers 2xx only once every message in the request is durable.",
        "responses": {
            "200": {"description": "Accepted (the provider's expected answer)."},
            "202": {"description": "Accepted."},
            "204": {"description": "Accepted."},
            **{status: _error_response(text) for status, text in _REFUSALS.items()},
        },
    }
    if method == "post":
        operation["requestBody"] = {"required": False, "content": body_schemas}
    return operation


def document(providers: Mapping[str, Provider]) -> dict[str, Any]:
    """OpenAPI 3.1 for the webhooks of the enabled providers, /healthz and /readyz."""
    paths: dict[str, Any] = {}
    for name, provider in sorted(providers.items()):
        methods = sorted(method.lower() for method in provider.methods)
        paths[f"/webhooks/{name}"] = {method: _operation(name, method) for method in methods}
    status = {"type": "object"}
    paths["/healthz"] = {
        "get": {
            "operationId": "healthz",
            "summary": "The process is up.",
            "responses": {"200": {"description": "Up.", "content": _json(status)}},
        }
    }
    paths["/readyz"] = {
        "get": {
            "operationId": "readyz",
            "summary": "RabbitMQ and the database both answer.",
            "responses": {
                "200": {"description": "Ready.", "content": _json(status)},
                "503": {"description": "Not ready.", "content": _json(status)},
            },
        }
    }
    paths.update(_review_api())
    generic = GenericPayload.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    nested = generic.pop("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {"title": "inbound", "version": "1", "description": "Inbound SMS webhooks."},
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "GenericMessage": generic,
                **nested,
            },
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _review_api() -> dict[str, Any]:
    """The review queue's JSON API (/api/), for services building their own tools."""

    def answers(ok: str) -> dict[str, Any]:
        return {
            "200": {"description": ok, "content": _json({"type": "object"})},
            "401": _error_response("No token, or an unknown one."),
            "404": _error_response("No such item (or service) among the token's services."),
            "409": _error_response("Not possible in the item's state (e.g. claimed by another)."),
            "422": _error_response("A parameter is malformed."),
        }

    item = {"name": "item", "in": "path", "required": True, "schema": {"type": "integer"}}
    query = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in ("service", "reason", "state", "mine", "q", "after")
    ]
    paths: dict[str, Any] = {
        "/api/queue": {
            "get": {
                "operationId": "review_queue",
                "summary": "Open review items of the token's services, oldest first "
                "(keyset pages: pass next_after as after).",
                "security": [{"token": []}],
                "parameters": query,
                "responses": answers("A page of items, counts per state, next_after."),
            }
        },
        "/api/items/{item}": {
            "get": {
                "operationId": "review_item",
                "summary": "An item, its message, the conversation with the sender, notes.",
                "security": [{"token": []}],
                "parameters": [item],
                "responses": answers("The item."),
            }
        },
    }
    bodies = {
        "claim": {},
        "release": {},
        "decide": {"action": {"type": "string"}, "captures": {"type": "object"}},
        "reply": {"text": {"type": "string"}},
        "dismiss": {"reason": {"type": "string"}},
        "note": {"text": {"type": "string"}},
    }
    for action, properties in bodies.items():
        paths[f"/api/items/{{item}}/{action}"] = {
            "post": {
                "operationId": f"review_{action}",
                "summary": f"{action.capitalize()} the item (audited).",
                "security": [{"token": []}],
                "parameters": [item],
                "requestBody": {
                    "required": False,
                    "content": _json({"type": "object", "properties": properties}),
                },
                "responses": answers("Done."),
            }
        }
    return paths
