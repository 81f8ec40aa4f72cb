"""The OpenAPI description of the Notify-shaped received-texts API (issue 17), at both of its
paths: /api/received-text-messages and Notify's own /v2/received-text-messages."""

from __future__ import annotations

from typing import Any

from inbound.received_texts import PAGE_SIZE

PATHS = ("/api/received-text-messages", "/v2/received-text-messages")


def _notify_error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/NotifyError"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def paths() -> dict[str, Any]:
    """Both paths, answering alike."""
    page = {"$ref": "#/components/schemas/ReceivedTextMessages"}
    operation = {
        "summary": f"The service's received texts in GOV.UK Notify's shape, newest first, "
        f"{PAGE_SIZE} a page; `links.next` carries `older_than` for the next, older page. For "
        "Notify's clients: a key from `inbound tokens add --service S --name N --notify-key` "
        "signs their JWTs (HS256, `iss`, `iat` within 30 s); a service token as a bearer works "
        "too. Only texts still stored (within the service's retention).",
        "security": [{"token": []}],
        "parameters": [
            {
                "name": "older_than",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "format": "uuid"},
                "description": "The id of a received text: the page starts below it. An id "
                "not among the service's stored texts gives an empty page, as on Notify.",
            }
        ],
        "responses": {
            "200": {
                "description": "A page (empty, without `links.next`, past the oldest).",
                "content": {"application/json": {"schema": page}},
            },
            "400": _notify_error("`older_than` is not a UUID (ValidationError)."),
            "401": _notify_error("No Authorization header, or not `Bearer` (AuthError)."),
            "403": _notify_error(
                "The JWT or token is not valid: unknown, badly signed, `iat` more than 30 s "
                "off, a key or token revoked or expired, or a personal token (AuthError)."
            ),
        },
    }
    return {
        path: {"get": {**operation, "operationId": f"received_texts_{name}"}}
        for path, name in zip(PATHS, ("api", "notify"), strict=True)
    }


def schemas() -> dict[str, Any]:
    """A page, one received text, and Notify's error shape."""
    nullable = {"type": ["string", "null"]}
    return {
        "ReceivedTextMessages": {
            "type": "object",
            "required": ["received_text_messages", "links"],
            "properties": {
                "received_text_messages": {
                    "type": "array",
                    "maxItems": PAGE_SIZE,
                    "items": {"$ref": "#/components/schemas/ReceivedTextMessage"},
                },
                "links": {
                    "type": "object",
                    "required": ["current"],
                    "properties": {
                        "current": {"type": "string"},
                        "next": {"type": "string", "description": "With `?older_than=<id>`."},
                    },
                },
            },
        },
        "ReceivedTextMessage": {
            "type": "object",
            "required": [
                "id",
                "user_number",
                "notify_number",
                "created_at",
                "service_id",
                "content",
                "inbound",
            ],
            "properties": {
                "id": {
                    "type": "string",
                    "format": "uuid",
                    "description": "Notify's own id for a text that came through Notify; else "
                    "a stable UUID inbound derives from its message.",
                },
                "user_number": {"type": "string", "examples": ["447700900123"]},
                "notify_number": {"type": "string", "examples": ["07700900456"]},
                "created_at": {
                    "type": "string",
                    "description": "UTC, `%Y-%m-%dT%H:%M:%S.%fZ`: when the provider says the "
                    "text arrived.",
                },
                "service_id": {
                    "type": "string",
                    "format": "uuid",
                    "description": "The service's UUID: the `iss` of its Notify-format keys.",
                },
                "content": {"type": "string"},
                "inbound": {
                    "type": "object",
                    "description": "What inbound did with it (not in Notify's API).",
                    "required": [
                        "service",
                        "provider",
                        "outcome",
                        "action",
                        "rule",
                        "review_state",
                        "prompt_reference",
                    ],
                    "properties": {
                        "service": {"type": "string"},
                        "provider": {"type": "string"},
                        "outcome": {
                            "type": "string",
                            "description": "processed (a rule acted), review, or repeat.",
                        },
                        "action": nullable,
                        "rule": nullable,
                        "review_state": nullable,
                        "prompt_reference": nullable,
                    },
                },
            },
        },
        "NotifyError": {
            "type": "object",
            "required": ["status_code", "errors"],
            "properties": {
                "status_code": {"type": "integer"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["error", "message"],
                        "properties": {
                            "error": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    }
