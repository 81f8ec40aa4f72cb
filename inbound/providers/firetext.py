"""Firetext inbound SMS, as GOV.UK Notify receives it: a form post with Basic auth.

Firetext sends no message id, so the dedupe key is a hash of what identifies a message: source,
destination, time and text, exactly as sent (a retry sends the same). The same text from the
same phone within the same second is therefore stored once. `time` is UTC: GOV.UK Notify
reads it with MMG's `DateRecieved` (`format_mmg_datetime`), as UTC since notifications-api
commit b8283c31 (2020), and so do we.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from inbound.message import InboundMessage
from inbound.providers.base import (
    ParsedMessage,
    PayloadInvalid,
    ProviderSpec,
    WebhookReply,
    WebhookRequest,
    form_fields,
    require_media_type,
    required,
)
from inbound.providers.basic_auth import BasicAuthProvider, basic_auth
from inbound.providers.json_fields import parse_time, unicode_text

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

FORM = "application/x-www-form-urlencoded"
ID_PREFIX = "ft-"


def dedupe_id(source: str, destination: str, time: str, message: str) -> str:
    """A stable id for a Firetext message: SHA-256 of its four identifying fields."""
    # JSON keeps the fields apart unambiguously ("a|b" + "c" can't collide with "a" + "b|c").
    identity = json.dumps([source, destination, time, message], ensure_ascii=False)
    return ID_PREFIX + hashlib.sha256(identity.encode("utf-8")).hexdigest()


class Firetext(BasicAuthProvider):
    """Checks the Basic credentials agreed with Firetext and parses the form."""

    name = "firetext"
    methods = frozenset({"POST"})

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message Firetext posts per request."""
        require_media_type(request, FORM)
        fields: Mapping[str, str] = dict(form_fields(request.body))
        source = unicode_text(required(fields, "source"), "source")
        destination = unicode_text(required(fields, "destination"), "destination")
        time = unicode_text(required(fields, "time"), "time")
        if "message" not in fields:
            raise PayloadInvalid("missing required field 'message'", field="message")
        message = unicode_text(fields["message"], "message")
        return [
            ParsedMessage(
                provider_message_id=dedupe_id(source, destination, time, message),
                sender=source,
                recipient=destination,
                text=message,
                received_at=parse_time(" ".join(time.split()), "time", naive_zone=UTC),
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 `{"status": "ok"}`, the answer GOV.UK Notify gives Firetext."""
        return WebhookReply(200, b'{"status": "ok"}', "application/json")


def _build(settings: Settings) -> Firetext | None:
    credentials = basic_auth(settings.firetext_basic_auth, "INBOUND_FIRETEXT_BASIC_AUTH")
    return Firetext(credentials) if credentials is not None else None


SPEC = ProviderSpec("firetext", "INBOUND_FIRETEXT_BASIC_AUTH", _build)
