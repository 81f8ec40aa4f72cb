"""Infobip inbound SMS forwarded to a URL (the default MO_JSON_2 format).

One request can carry several messages in `results[]`: all are returned, and the request is
answered only once every one of them is durable. Infobip signs nothing in the body; its webhook
security settings offer Basic credentials (used here) or mTLS. Running without any check needs
the explicit opt-out `INBOUND_UNVERIFIED_PROVIDERS=infobip`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from inbound.providers.basic_auth import BasicAuth, basic_auth

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings


class Infobip:
    """Checks Basic credentials (unless explicitly unverified) and parses `results[]`."""

    name = "infobip"
    methods = frozenset({"POST"})

    def __init__(self, credentials: BasicAuth | None) -> None:
        # None only when the operator listed infobip in INBOUND_UNVERIFIED_PROVIDERS.
        self._credentials = credentials

    async def verify(self, request: WebhookRequest) -> None:
        """Check the Basic credentials, when configured."""
        if self._credentials is not None:
            self._credentials.check(request)

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """Every message in `results[]`."""
        require_media_type(request, "application/json")
        payload = json_fields.json_obj(request.body)
        results = payload.get("results")
        if not isinstance(results, list):
            raise PayloadInvalid("results must be a JSON array", field="results")
        messages = []
        for index, item in enumerate(results):
            where = f"results[{index}]."
            result = json_fields.obj(item, where.rstrip("."))
            messages.append(
                ParsedMessage(
                    provider_message_id=json_fields.text(result, "messageId", where),
                    sender=json_fields.text(result, "from", where),
                    recipient=json_fields.text(result, "to", where),
                    # `text` is the whole message; `cleanText` lacks Infobip's keyword.
                    text=json_fields.body_text(result, "text", where),
                    received_at=json_fields.optional_time(result, "receivedAt", where),
                )
            )
        return messages

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200: Infobip needs only a 2xx."""
        return WebhookReply(200)


def _build(settings: Settings) -> Infobip | None:
    credentials = basic_auth(settings.infobip_basic_auth, "INBOUND_INFOBIP_BASIC_AUTH")
    if credentials is not None:
        return Infobip(credentials)
    if "infobip" in settings.unverified_providers:
        return Infobip(None)
    return None


SPEC = ProviderSpec(
    "infobip",
    "INBOUND_INFOBIP_BASIC_AUTH (or infobip in INBOUND_UNVERIFIED_PROVIDERS)",
    _build,
    may_be_unverified=True,
)
