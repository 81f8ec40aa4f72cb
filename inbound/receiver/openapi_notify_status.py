"""The OpenAPI description of /webhooks/notify-status, GOV.UK Notify's delivery receipts (issue 17;
inbound/receiver/notify_status.py), listed whenever the Notify provider is enabled."""

from __future__ import annotations

from typing import Any

from inbound.prompts.notify_receipt import Skipped
from inbound.receiver.notify_status import PATH

SCHEMA_NAME = "NotifyDeliveryReceipt"

# As notifications-api's send_delivery_status_to_service posts it; Notify's API documentation,
# "Delivery receipts".
_TIME = {"type": ["string", "null"], "description": "UTC: 2026-12-01T09:00:05.000000Z."}
RECEIPT = {
    "type": "object",
    "required": ["id", "to", "status", "created_at", "notification_type", "template_id"],
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "Notify's id for the message."},
        "reference": {
            "type": ["string", "null"],
            "description": "The service's own reference: the prompt's (Notify's id when null).",
        },
        "to": {"type": "string", "description": "The number as the service gave it."},
        "status": {
            "type": "string",
            "description": "delivered (a prompt, if the template is mapped), permanent-failure, "
            "temporary-failure or technical-failure (none).",
        },
        "created_at": {**_TIME, "type": "string"},
        "completed_at": _TIME,
        "sent_at": _TIME,
        "notification_type": {"type": "string", "description": "sms, email or letter."},
        "template_id": {
            "type": "string",
            "format": "uuid",
            "description": "Mapped to a prompt by a rule file's prompts.templates.",
        },
        "template_version": {"type": ["integer", "null"]},
    },
}


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def paths() -> dict[str, Any]:
    """The one path, POST only."""
    answer = {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {
                "type": ["object", "null"],
                "properties": {"service": {"type": "string"}, "reference": {"type": "string"}},
            },
            "skipped": {"enum": [reason.value for reason in Skipped]},
        },
    }
    return {
        PATH: {
            "post": {
                "operationId": "notify_status_post",
                "summary": "GOV.UK Notify's delivery receipts: a delivered text of a mapped "
                "template becomes a prompt",
                "description": "Authorization: Bearer, the token typed into Notify's callback "
                "settings (INBOUND_NOTIFY_INBOUND_TOKENS, or the token of the service that maps "
                "the template). The same receipt posted again changes nothing (docs/notify.md).",
                "security": [{"token": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{SCHEMA_NAME}"}
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Taken: the prompt it made, or why it made none.",
                        "content": {"application/json": {"schema": answer}},
                    },
                    "400": _error("The body is not a JSON object."),
                    "401": _error("No bearer token."),
                    "403": _error("A token Notify was not given for this template."),
                    "413": _error("The body is over the size limit."),
                    "422": _error("A field is missing or malformed; `field` names it."),
                    "503": _error("The database could not take the prompt; Notify retries."),
                },
            }
        }
    }


def schemas() -> dict[str, Any]:
    """The receipt's schema, for components.schemas."""
    return {SCHEMA_NAME: RECEIPT}
