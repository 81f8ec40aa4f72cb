"""A service's callback in GOV.UK Notify's received-text shape (`callback.format: notify`). Pure.

A receiver written for Notify gets what Notify would have sent it: every text that arrived for
the service, once, as `{"id", "source_number", "destination_number", "message",
"date_received"}` with the service's bearer token (Notify's "received text messages" callback;
the fields as `tests/support/fake_notify.py` cites them from notifications-api). inbound adds
what it did under `inbound`, which such a receiver ignores. Caseworkers' later decisions have
no place in Notify's shape, so they send nothing in this format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any, Protocol

from inbound.actions.effects import EffectPolicy, PlannedAction, StoredMessage, callback_state
from inbound.received_texts import (
    CREATED_AT_FORMAT,
    message_uuid,
    notify_id,
    notify_number,
    user_number,
)
from inbound.rules.model import ServiceRules
from inbound.states import ActionKind

FORMAT = "notify"


class ReceivedMessage(StoredMessage, Protocol):
    """What the callback needs of a stored message (a `store.models.Message` row is one)."""

    @property
    def recipient(self) -> str: ...
    @property
    def text(self) -> str | None: ...


@dataclass(frozen=True)
class Handled:
    """What inbound did with the text, told under `inbound`."""

    status: str  # processed | review | repeat
    action: str | None = None
    rule: str | None = None
    prompt_reference: str | None = None


def sends_received_texts(service: ServiceRules) -> bool:
    """True when the service's callback takes every text in Notify's shape."""
    callback = service.service.callback
    return callback is not None and callback.format == FORMAT


def received_text_body(
    service_id: str, message: ReceivedMessage, handled: Handled
) -> dict[str, Any]:
    """The JSON Notify would have posted for the text, and what inbound did with it."""
    own = notify_id(message.provider, message.provider_message_id)
    return {
        "id": str(own or message_uuid(message.id)),
        "source_number": user_number(message.sender),
        "destination_number": notify_number(message.recipient),
        "message": message.text or "",
        "date_received": message.received_at.astimezone(UTC).strftime(CREATED_AT_FORMAT),
        "inbound": {
            "service": service_id,
            "outcome": handled.status,
            "action": handled.action,
            "rule": handled.rule,
            "prompt_reference": handled.prompt_reference,
        },
    }


def plan_received_text(
    service: ServiceRules, message: ReceivedMessage, handled: Handled, policy: EffectPolicy
) -> PlannedAction | None:
    """The callback for a text that just arrived, when the service takes them in Notify's
    shape; keyed by message, so a text is posted once however often it is processed."""
    callback = service.service.callback
    if callback is None or callback.format != FORMAT:
        return None
    service_id = service.service.id
    state, note = callback_state(policy)
    return PlannedAction(
        ActionKind.CALLBACK,
        f"{service_id}:{message.id}:callback:received",
        {
            "url": callback.url,
            "secret_env": callback.secret_env,
            "token_env": callback.token_env,
            "event": received_text_body(service_id, message, handled),
        },
        state,
        note=note,
    )
