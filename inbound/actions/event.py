"""The callback event a service receives, and its signature. Pure."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from inbound.prompts.model import Prompt

SIGNATURE_HEADER = "X-Inbound-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def outcome_event(
    *,
    event_id: str,
    service_id: str,
    action: str,
    captures: Mapping[str, str],
    sender: str,
    provider: str,
    provider_message_id: str,
    received_at: datetime,
    decided_at: datetime,
    rule: str | None,
    decided_by: str | None = None,
    prompt: Prompt | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The JSON body POSTed to a service for one outcome (automatic or a caseworker's);
    `prompt` is the prompt the reply answered, whose reference tells the service which of its
    questions (an appointment, an application) the outcome is about; `language` the one the
    person wrote in, as the rules read it (None for a caseworker's decision)."""
    return {
        "id": event_id,
        "type": "outcome",
        "service": service_id,
        "action": action,
        "captures": dict(captures),
        "sender": sender,
        "message": {"provider": provider, "id": provider_message_id},
        "received_at": received_at.isoformat(),
        "decided_at": decided_at.isoformat(),
        "decided_by": {"rule": rule} if decided_by is None else {"caseworker": decided_by},
        "prompt": None if prompt is None else prompt_context(prompt),
        "language": language,
    }


def prompt_context(prompt: Prompt) -> dict[str, str]:
    """What a service is told of the prompt a reply answered."""
    return {
        "reference": prompt.reference,
        "sent_at": prompt.sent_at.isoformat(),
        "expires_at": prompt.expires_at.isoformat(),
    }


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`: the timestamp is signed too,
    so a captured request can't be replayed later with a new time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def headers(secret: str | None, timestamp: int, body: bytes, key: str) -> dict[str, str]:
    """The headers of a callback request: content type, idempotency key, signature."""
    sent = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    if secret:
        sent[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return sent
