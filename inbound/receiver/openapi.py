"""The OpenAPI document for the HTTP endpoints this server exposes, built from its providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbound.conversation import THREAD_LIMIT, EntryKind
from inbound.prompts import intake
from inbound.providers.base import Provider
from inbound.providers.generic import GenericPayload
from inbound.receiver import openapi_notify_status, openapi_received_texts, openapi_rules
from inbound.receiver.openapi_rule_suggestions import paths as suggestion_paths
from inbound.receiver.openapi_rule_suggestions import schemas as suggestion_schemas
from inbound.review.decisions import (
    CAPTURES,
    DECISIONS,
    MAX_REASON,
    MAX_REPLY,
    MAX_REPLY_SEGMENTS,
    MAX_REPLY_UCS2,
    MAX_TEXT,
    WRITTEN_PATTERN,
)
from inbound.review.parameters import CURSOR_PATTERN, MAX_ITEM_ID, SERVICE_PATTERN
from inbound.states import ActionState
from inbound.store.review import STATES

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
                "index": {"type": "integer", "description": "Which prompt of a batch, from 0."},
                "line": {"type": "integer", "description": "Which NDJSON line, from 1."},
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


# GOV.UK Notify's received-text callback, as notifications-api's send_inbound_sms_to_service
# posts it (inbound/providers/notify.py).
_NOTIFY_RECEIVED_TEXT = {
    "type": "object",
    "required": ["id", "source_number", "destination_number", "message"],
    "properties": {
        "id": {"type": "string", "description": "Notify's id for the text: the dedupe key."},
        "source_number": {
            "type": "string",
            "description": "The sender, international without `+` (447700900123).",
        },
        "destination_number": {
            "type": "string",
            "description": "The service's number, national (07700900000).",
        },
        "message": {"type": "string"},
        "date_received": {
            "type": ["string", "null"],
            "description": "When the provider received it, UTC: 2026-07-14T12:15:30.000000Z.",
        },
    },
}


def _operation(name: str, method: str) -> dict[str, Any]:
    if name == "generic":
        body_schemas: dict[str, Any] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/GenericMessage"}}
        }
    elif name == "notify":
        body_schemas = {
            "application/json": {"schema": {"$ref": "#/components/schemas/NotifyReceivedText"}}
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
    if name == "notify":
        operation["summary"] = "GOV.UK Notify's received-text callback"
        operation["description"] = (
            "Authorization: Bearer, the token typed into Notify's callback settings "
            "(INBOUND_NOTIFY_INBOUND_TOKENS, or the service's own for its numbers). Answers 200 "
            "only once the message is durable, within 3.5 s of Notify's 5 s; a 503 makes Notify "
            "retry (5 times, 5 minutes apart)."
        )
        operation["security"] = [{"token": []}]
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
    paths.update(_prompts_api())
    paths.update(openapi_received_texts.paths())
    paths.update(suggestion_paths())
    paths.update(openapi_rules.paths())
    if "notify" in providers:  # delivery receipts are taken with Notify's received texts
        paths.update(openapi_notify_status.paths())
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
                "NotifyReceivedText": _NOTIFY_RECEIVED_TEXT,
                **nested,
                **_review_schemas(),
                **_prompt_schemas(),
                **openapi_received_texts.schemas(),
                **suggestion_schemas(),
                **openapi_rules.schemas(),
                **openapi_notify_status.schemas(),
            },
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _review_api() -> dict[str, Any]:
    """The review queue's JSON API (/api/), for services building their own tools: every
    parameter and field with the limits the server checks, so a generated request (e.g.
    schemathesis) is either within them or refused with the status given here."""
    refused = {
        "401": _error_response("No token, or one that is unknown, expired or revoked."),
        "404": _error_response("No such item (or service) among the token's services."),
    }
    item = {
        "name": "item",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ITEM_ID},
    }
    written = {"type": "string", "pattern": WRITTEN_PATTERN}
    query = [
        # An empty value is the same as none, for every parameter.
        _query("service", {"type": "string", "pattern": f"^$|{SERVICE_PATTERN}"}, "A service."),
        _query(
            "reason",
            written,
            "Words in the reason it is in review (first 200 kept); or a reason group's words as "
            "the queue page's counts per reason name them, for exactly that group's items.",
        ),
        _query("state", {"type": "string", "enum": ["", *STATES]}, "Default: open and claimed."),
        _query("mine", {"type": "string", "enum": ["", "0", "1", "false", "true"]}, "Yours."),
        _query("q", written, "Words in the message text or its provider id (first 200 kept)."),
        _query("after", {"type": "string", "pattern": f"^$|{CURSOR_PATTERN}"}, "A next_after."),
    ]
    paths: dict[str, Any] = {
        "/api/queue": {
            "get": {
                "operationId": "review_queue",
                "summary": "Review items of the token's services, oldest first "
                "(keyset pages: pass next_after as after).",
                "security": [{"token": []}],
                "parameters": query,
                "responses": {
                    "200": {
                        "description": "A page of items, counts per state, next_after.",
                        "content": _json({"$ref": "#/components/schemas/ReviewQueuePage"}),
                    },
                    "400": _error_response("A query parameter is malformed; `field` names it."),
                    **refused,
                },
            }
        },
        "/api/items/{item}": {
            "get": {
                "operationId": "review_item",
                "summary": "An item, its message, the conversation with the sender, notes, and "
                "whether a reply can be sent now.",
                "security": [{"token": []}],
                "parameters": [item],
                "responses": {
                    "200": {
                        "description": "The item.",
                        "content": _json({"$ref": "#/components/schemas/ReviewItemDetail"}),
                    },
                    **refused,
                },
            }
        },
        "/api/conversations/{item}": {
            "get": {
                "operationId": "review_conversation",
                "summary": "The conversation of the item's service with its sender, oldest "
                "first: prompts sent, replies received, texts sent back (automatic and by "
                "caseworkers, with their delivery), outcomes and decisions; the newest "
                f"{THREAD_LIMIT} entries (`more` when there are older ones), and the prompts "
                "still open.",
                "security": [{"token": []}],
                "parameters": [item],
                "responses": {
                    "200": {
                        "description": "The conversation.",
                        "content": _json({"$ref": "#/components/schemas/Conversation"}),
                    },
                    **refused,
                },
            }
        },
    }
    text = {**written, "minLength": 1}
    # A reply, alone or with a decision (sent with it, or nothing is decided): the caseworker's
    # own text or a canned reply by name, as GET /api/items/{item} lists them under `reply`.
    reply = {
        "text": {
            **written,
            "description": f"The caseworker's own reply (empty or left out: none). At most "
            f"{MAX_REPLY_SEGMENTS} SMS segments: {MAX_REPLY} "
            f"characters of the GSM alphabet, {MAX_REPLY_UCS2} when any character is "
            "outside it (an emoji counts as two). Caseworkers may text a number a limited "
            "number of times an hour, set by the installation (409 beyond). Refused (422) where "
            "the service allows only its canned replies.",
        },
        "canned": {
            **written,
            "description": "The name of one of the service's canned replies (`reply.canned` of "
            "the item), sent filled in instead of `text`; empty or left out: none.",
        },
    }
    bodies: dict[str, tuple[dict[str, Any], list[str]]] = {
        "claim": ({}, []),
        "release": ({}, []),
        "decide": (
            {
                "action": {"type": "string", "enum": list(DECISIONS)},
                "captures": {
                    "type": "object",
                    "properties": dict.fromkeys(CAPTURES, written),
                    "additionalProperties": {"type": "string"},
                    "description": "Only details, reference and rating are kept.",
                },
                **reply,
            },
            ["action"],
        ),
        "reply": (reply, []),
        "dismiss": ({"reason": {**text, "maxLength": MAX_REASON}}, ["reason"]),
        "note": ({"text": {**text, "maxLength": MAX_TEXT}}, ["text"]),
    }
    done = {
        "type": "object",
        "required": ["status", "item", "done"],
        "properties": {
            "status": {"const": "ok"},
            "item": {"type": "integer"},
            "done": {"type": "string", "enum": list(bodies)},
        },
    }
    for action, (properties, required) in bodies.items():
        paths[f"/api/items/{{item}}/{action}"] = {
            "post": {
                "operationId": f"review_{action}",
                "summary": f"{action.capitalize()} the item (audited).",
                "security": [{"token": []}],
                "parameters": [item],
                "requestBody": {
                    "required": bool(required),
                    "content": _json(
                        {"type": "object", "properties": properties, "required": required}
                    ),
                },
                "responses": {
                    "200": {"description": "Done.", "content": _json(done)},
                    "400": _error_response("The body is not JSON."),
                    **refused,
                    "409": _error_response(
                        "Not possible now: the item's state (e.g. claimed by another), an "
                        "opted-out number, or the hourly reply cap (the message says when)."
                    ),
                    "422": _error_response(
                        "A field is missing, of the wrong type or outside its limits; `field` "
                        "names a field of the wrong type."
                    ),
                },
            }
        }
    return paths


def _prompts_api() -> dict[str, Any]:
    """The prompts API (issue 15), called by a service's machines with a service token."""
    refused = {
        "401": _error_response("No token, or one that is unknown, expired or revoked."),
        "403": _error_response(
            "Not a service token (a personal token can't send prompts), or a prompt names "
            "another service than the token's."
        ),
    }
    one = {"$ref": "#/components/schemas/Prompt"}
    stored = {"$ref": "#/components/schemas/StoredPrompt"}
    batch = {"type": "array", "items": one, "minItems": 1, "maxItems": intake.MAX_BATCH}
    return {
        "/api/prompts": {
            "post": {
                "operationId": "prompts_send",
                "summary": "Tell inbound what the service asked: one prompt, or a batch of up to "
                f"{intake.MAX_BATCH:,} (a JSON array, or NDJSON: one object a line). Stored all or "
                "nothing; sending a prompt again (same reference and number) updates it.",
                "security": [{"token": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"oneOf": [one, batch]}},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "201": {
                        "description": "Stored: one object for one prompt sent as an object, "
                        "an array in the order sent for a batch.",
                        "content": _json({"oneOf": [stored, {"type": "array", "items": stored}]}),
                    },
                    "400": _error_response("The body (or an NDJSON line: `line`) is not JSON."),
                    **refused,
                    "413": _error_response("The body is over 30 MB."),
                    "415": _error_response("Not application/json or application/x-ndjson."),
                    "422": _error_response(
                        "A prompt is wrong: `field` names the field and `index` the prompt of "
                        f"a batch (from 0); or more than {intake.MAX_BATCH:,} prompts (code "
                        "`too_many`). Nothing was stored."
                    ),
                },
            }
        },
        "/api/prompts/{reference}": {
            "delete": {
                "operationId": "prompts_withdraw",
                "summary": "Withdraw a prompt (e.g. the appointment was moved): no reply "
                "answers it any more. Sending it again asks afresh.",
                "security": [{"token": []}],
                "parameters": [
                    {
                        "name": "reference",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                        "description": "The number it was sent to (E.164, or national in the "
                        "service's region).",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Withdrawn (or already withdrawn).",
                        "content": _json(
                            {
                                "allOf": [
                                    stored,
                                    {
                                        "type": "object",
                                        "properties": {"state": {"const": "withdrawn"}},
                                    },
                                ]
                            }
                        ),
                    },
                    "400": _error_response("`to` is missing or not a phone number."),
                    **refused,
                    "404": _error_response("No prompt with this reference for this number."),
                },
            }
        },
    }


def _prompt_schemas() -> dict[str, Any]:
    """The prompt a service sends, and what it gets back."""
    stamp = {"type": "string", "format": "date-time"}
    answers = sorted(intake.ANSWERS)
    prompt = {
        "type": "object",
        "required": ["to", "reference", "expects"],
        "additionalProperties": False,
        "example": {
            "to": "07700 900123",
            "reference": "appt-8812",
            "expects": ["confirm", "cancel"],
            "expires_at": "2026-12-03T09:00:00Z",
            "sent_at": "2026-11-30T09:00:00Z",
            "text": "Reminder: your appointment is on 3 December at 09:00. Reply YES or CANCEL",
        },
        "properties": {
            "to": {
                "type": "string",
                "description": "The number texted: E.164, or national in the service's region.",
            },
            "reference": {
                "type": "string",
                "minLength": 1,
                "maxLength": intake.MAX_REFERENCE,
                "description": "The service's own reference, e.g. an appointment id; it comes "
                "back in the callbacks of the replies that answer.",
            },
            "expects": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": answers},
                "description": "The actions that count as an answer.",
            },
            "expires_at": {
                **stamp,
                "description": "The last moment an answer counts; with a time zone. "
                "Default: sent_at plus 14 days.",
            },
            "sent_at": {**stamp, "description": "When it was sent; default: now."},
            "text": {
                "type": ["string", "null"],
                "maxLength": intake.MAX_TEXT,
                "description": "A copy of what was sent, shown to caseworkers; null: not stored.",
            },
            "service": {
                "type": "string",
                "description": "Optional: the token's service (any other is refused).",
            },
        },
    }
    stored = {
        "type": "object",
        "required": ["id", "reference", "to"],
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string"},
            "to": {"type": "string", "description": "E.164."},
        },
    }
    return {"Prompt": prompt, "StoredPrompt": stored}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _review_schemas() -> dict[str, Any]:
    """The shapes the review API answers with."""
    nullable_text = {"type": ["string", "null"]}
    stamp = {"type": "string", "format": "date-time"}
    item = {
        "type": "object",
        "required": ["id", "service", "reason", "state", "created_at", "message"],
        "properties": {
            "id": {"type": "integer"},
            "service": nullable_text,
            "reason": {"type": "string"},
            "rule": nullable_text,
            "state": {"type": "string", "enum": list(STATES)},
            "created_at": stamp,
            "claimed_by": {"type": ["integer", "null"]},
            "decision": nullable_text,
            "prompt_reference": {
                **nullable_text,
                "description": "The reference of the prompt the message answered or most "
                "likely relates to; null when none.",
            },
            "message": {
                "type": "object",
                "required": ["provider", "id", "from", "text", "received_at"],
                "properties": {
                    "provider": {"type": "string"},
                    "id": {"type": "string"},
                    "from": {"type": "string", "description": "Masked."},
                    "text": {**nullable_text, "description": "null once purged."},
                    "received_at": stamp,
                },
            },
        },
    }
    reply = {
        "type": "object",
        "required": ["allowed", "refusal", "sent_last_hour", "cap_per_hour", "next_at"],
        "properties": {
            "allowed": {"type": "boolean"},
            "refusal": {**nullable_text, "description": "Why a reply can't be sent now."},
            "sent_last_hour": {"type": "integer", "description": "Automatic replies included."},
            "cap_per_hour": {"type": "integer"},
            "next_at": {"type": ["string", "null"], "format": "date-time"},
            "max_segments": {"type": "integer"},
            "max_characters": {"type": "integer"},
            "max_characters_ucs2": {"type": "integer"},
        },
    }
    detail = {
        "allOf": [
            {"$ref": "#/components/schemas/ReviewItem"},
            {
                "type": "object",
                "required": ["conversation", "notes", "reply"],
                "properties": {
                    "conversation": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "text": nullable_text,
                                "received_at": stamp,
                                "outcome": nullable_text,
                                "review": nullable_text,
                            },
                        },
                    },
                    "notes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "by": {"type": "string"},
                                "text": {"type": "string"},
                                "at": stamp,
                            },
                        },
                    },
                    "reply": reply,
                },
            },
        ]
    }
    page = {
        "type": "object",
        "required": ["items", "counts", "next_after"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ReviewItem"}},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "next_after": {"type": ["string", "null"], "pattern": CURSOR_PATTERN},
        },
    }
    return {
        "ReviewItem": item,
        "ReviewItemDetail": detail,
        "ReviewQueuePage": page,
        "Conversation": _conversation_schema(),
    }


def _conversation_schema() -> dict[str, Any]:
    """What GET /api/conversations/{item} answers."""
    nullable_text = {"type": ["string", "null"]}
    nullable_id = {"type": ["integer", "null"]}
    stamp = {"type": "string", "format": "date-time"}
    actions = {"type": "array", "items": {"type": "string"}}
    fields: dict[str, Any] = {
        "kind": {
            "type": "string",
            "enum": [kind.value for kind in EntryKind],
            "description": "prompt: the service asked; received: a text from the number; "
            "auto_reply / caseworker_reply: a text sent to it; outcome: a rule's automatic "
            "outcome; decision: a caseworker's decision (an action, or dismissed).",
        },
        "at": {
            **stamp,
            "description": "When: prompts when sent, texts received when inbound "
            "accepted them, the rest when recorded.",
        },
        "text": {**nullable_text, "description": "The words sent or received."},
        "text_missing": {
            **nullable_text,
            "enum": ["text not stored", "text purged", None],
            "description": "Why `text` is null: a prompt sent without its text (or purged), "
            "or a text purged after the retention period.",
        },
        "reference": {
            **nullable_text,
            "description": "The prompt's reference: its own, or the one a reply, outcome or "
            "decision concerns.",
        },
        "message_id": nullable_id,
        "item_id": {**nullable_id, "description": "The review item of the message, if any."},
        "action": {**nullable_text, "description": "Outcome or decision; a prompt's answer."},
        "rule": nullable_text,
        "delivery": {
            "type": ["string", "null"],
            "enum": [state.value for state in ActionState] + [None],
            "description": "Texts sent: whether delivered.",
        },
        "by": {**nullable_text, "description": "The caseworker (email), when known."},
        "note": {
            **nullable_text,
            "description": "A decision's note (e.g. why dismissed), how a reply was matched "
            "to its prompt, why a text was not sent, or a prompt's state when not open.",
        },
        "expects": {**actions, "description": "Prompts: the answers asked for."},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
    }
    entry = {"type": "object", "required": list(fields), "properties": fields}
    open_prompt = {
        "type": "object",
        "required": ["reference", "expects", "sent_at", "expires_at", "expired"],
        "properties": {
            "reference": {"type": "string"},
            "expects": actions,
            "sent_at": stamp,
            "expires_at": stamp,
            "expired": {"type": "boolean", "description": "Past expires_at: too late to answer."},
        },
    }
    return {
        "type": "object",
        "required": ["item", "service", "number", "entries", "more", "limit", "open_prompts"],
        "properties": {
            "item": {"type": "integer"},
            "service": nullable_text,
            "number": {"type": "string", "description": "The sender, masked."},
            "entries": {"type": "array", "items": entry},
            "more": {"type": "boolean", "description": "Older entries were left out."},
            "limit": {"type": "integer"},
            "open_prompts": {
                "type": "array",
                "items": open_prompt,
                "description": "Soonest to expire first; expired ones last.",
            },
        },
    }
