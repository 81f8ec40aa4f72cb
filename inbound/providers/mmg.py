"""MMG inbound SMS, as GOV.UK Notify receives it: JSON with URL-encoded values, Basic auth.

`DateRecieved` (sic) is `YYYY-MM-DD+HH:MM:SS` URL-encoded, in UTC: GOV.UK Notify read it as
UK local time until 2020, then dropped the conversion because "the provider date is already in
UTC format" (notifications-api commit b8283c31; `format_mmg_datetime` has read it as UTC since),
and so do we. `Message` is URL-encoded with `+` for spaces, usually; see `decode_message`.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from inbound.message import InboundMessage
from inbound.providers import json_fields
from inbound.providers.base import (
    ParsedMessage,
    ProviderSpec,
    WebhookReply,
    WebhookRequest,
    require_media_type,
)
from inbound.providers.basic_auth import BasicAuthProvider, basic_auth

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

# A `%` not followed by two hex digits can't have come from a URL encoder.
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def decode_message(raw: str) -> str:
    """The message text, URL-decoded only when it is URL-encoded.

    MMG usually sends `some+uri+encoded+message%3A`, but not always. Decoding a message that
    wasn't encoded would corrupt it (`1+1=2`), so we decode only what an encoder could have
    produced: no literal space, no stray `%`, and percent-escapes that form UTF-8. A message
    with neither `+` nor `%` reads the same either way. Left ambiguous, as for GOV.UK Notify: a
    plain message with `+` and no space (`1+1=2`) is read as encoded.
    """
    if " " in raw or ("+" not in raw and "%" not in raw) or _STRAY_PERCENT.search(raw):
        return raw
    try:
        return urllib.parse.unquote_plus(raw, errors="strict")
    except UnicodeDecodeError:
        return raw


class Mmg(BasicAuthProvider):
    """Checks the Basic credentials agreed with MMG and parses its JSON."""

    name = "mmg"
    methods = frozenset({"POST"})

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one message MMG sends per request."""
        require_media_type(request, "application/json")
        payload = json_fields.json_obj(request.body)
        message = json_fields.unicode_text(
            decode_message(json_fields.body_text(payload, "Message")), "Message"
        )
        received = json_fields.optional_text(payload, "DateRecieved")
        received_at = None
        if received is not None and received.strip():
            # `2017-05-21+11%3A56%3A11` → `2017-05-21 11:56:11`; doubled spaces happen too.
            plain = " ".join(urllib.parse.unquote_plus(received).split())
            received_at = json_fields.parse_time(plain, "DateRecieved", naive_zone=UTC)
        return [
            ParsedMessage(
                provider_message_id=json_fields.text(payload, "ID"),
                sender=json_fields.text(payload, "MSISDN"),
                recipient=json_fields.text(payload, "Number"),
                text=message,
                received_at=received_at,
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200 `RECEIVED`, the answer GOV.UK Notify gives MMG."""
        return WebhookReply(200, b"RECEIVED", "text/plain")


def _build(settings: Settings) -> Mmg | None:
    credentials = basic_auth(settings.mmg_basic_auth, "INBOUND_MMG_BASIC_AUTH")
    return Mmg(credentials) if credentials is not None else None


SPEC = ProviderSpec("mmg", "INBOUND_MMG_BASIC_AUTH", _build)
