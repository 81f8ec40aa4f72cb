"""Bandwidth Messaging v2 callbacks: a JSON array of events, inbound SMS among them.

Only `message-received` events whose message has `direction` `in` become messages; status
events sent to the same URL are answered 2xx and publish nothing. Each event names the one
recipient it is for (a group message arrives as one event per recipient, each with its own
message id). Bandwidth authenticates with Basic credentials set on the messaging application;
it retries any non-2xx for 24 hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from inbound.message import InboundMessage
from inbound.providers import json_fields
from inbound.providers.base import (
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    WebhookReply,
    WebhookRequest,
    require_media_type,
)
from inbound.providers.basic_auth import BasicAuthProvider, basic_auth

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

RECEIVED = "message-received"


class Bandwidth(BasicAuthProvider):
    """Checks the callback's Basic credentials and parses the inbound events."""

    name = "bandwidth"
    methods = frozenset({"POST"})

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """One message per inbound `message-received` event; none for other events."""
        require_media_type(request, "application/json")
        messages = []
        for index, item in enumerate(json_fields.json_array(request.body)):
            where = f"[{index}]."
            event = json_fields.obj(item, f"[{index}]")
            if json_fields.text(event, "type", where) != RECEIVED:
                continue
            message = json_fields.obj(event.get("message"), where + "message")
            inner = where + "message."
            if json_fields.text(message, "direction", inner) != "in":
                continue
            recipient = json_fields.optional_text(event, "to", where)
            if recipient is None:
                recipient = _first_recipient(message, inner)
            messages.append(
                ParsedMessage(
                    provider_message_id=json_fields.text(message, "id", inner),
                    sender=json_fields.text(message, "from", inner),
                    recipient=recipient,
                    # An MMS may come with media and no text at all.
                    text=json_fields.optional_text(message, "text", inner) or "",
                    received_at=json_fields.optional_time(message, "time", inner)
                    or json_fields.optional_time(event, "time", where),
                )
            )
        return messages

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200: Bandwidth needs only a 2xx (within 10 s)."""
        return WebhookReply(200)


def _first_recipient(message: Mapping[str, object], where: str) -> str:
    # Older events have no top-level `to`; then the message's own list names our number.
    recipients = message.get("to")
    if not isinstance(recipients, list) or not recipients:
        raise PayloadInvalid(f"missing required field '{where}to'", field=where + "to")
    return json_fields.text({"to": recipients[0]}, "to", where)


def _build(settings: Settings) -> Bandwidth | None:
    credentials = basic_auth(settings.bandwidth_basic_auth, "INBOUND_BANDWIDTH_BASIC_AUTH")
    return Bandwidth(credentials) if credentials is not None else None


SPEC = ProviderSpec("bandwidth", "INBOUND_BANDWIDTH_BASIC_AUTH", _build)
