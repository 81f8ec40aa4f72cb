"""GOV.UK Notify's received-text callback: a reply Notify took from MMG or Firetext, forwarded.

Notify posts `{"id", "source_number", "destination_number", "message", "date_received"}` as
JSON with `Authorization: Bearer <token>`, the token the service typed into its callback
settings (notifications-api `app/celery/service_callback_tasks.py`, `send_inbound_sms_to_service`).
`id` is Notify's UUID for the message, our dedupe key, so the same message posted again, or
fetched by the backfill poller from `GET /v2/received-text-messages`, is one message.
`source_number` is international without `+` (`447700900123`), `destination_number` national
(`07700900123`); `date_received` is the provider's time in UTC, written
`%Y-%m-%dT%H:%M:%S.%fZ` (`DATETIME_FORMAT` in notifications-api `app/utils.py`).

The token is INBOUND_NOTIFY_INBOUND_TOKENS (two during a rotation), or the service's own, named
by its rule file (`service.notify.inbound_token_env`) and accepted only for messages to that
service's numbers. Notify retries on 5xx, 429 and network errors, 5 times 5 minutes apart, and
waits 5 s for an answer, so a message is answered within `ANSWER_WITHIN` (docs/providers.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inbound import phone
from inbound.message import InboundMessage
from inbound.notify_tokens import MIN_TOKEN_LENGTH, inbound_tokens
from inbound.providers import json_fields
from inbound.providers.base import (
    NoServiceSecrets,
    ParsedMessage,
    ProviderSpec,
    ServiceSecrets,
    SignatureInvalid,
    SignatureMissing,
    WebhookError,
    WebhookReply,
    WebhookRequest,
    require_media_type,
)

if TYPE_CHECKING:  # settings are only passed through: a provider reads no environment
    from inbound.config import Settings

NAME = "notify"
SETTING = "INBOUND_NOTIFY_INBOUND_TOKENS"
# Notify's inbound numbers are all UK numbers: a destination no service owns is read as one.
NOTIFY_REGION = "GB"
# Seconds from publishing to the answer, for RabbitMQ's confirm and the spool write together
# (spool/publish_or_spool.py's `Budget`): Notify waits 5 s (`timeout=5` in notifications-api's
# `_send_data_to_service_callback_api`), and the rest of them is for the network, TLS and
# reading the request. Shorter than Twilio's 12 s because a 503 costs Notify nothing: it retries
# it, and what it gives up on the backfill poller fetches; an answer after 5 s is a retry too.
ANSWER_WITHIN = 3.5


def _international(raw: str, region: str) -> str:
    """`source_number` in E.164: Notify writes it international without the `+`."""
    value = raw.strip()
    if value.isdigit() and not value.startswith("0"):
        value = "+" + value
    try:
        return phone.normalise(value, region)
    except phone.InvalidNumber:
        return raw  # kept as Notify gave it, as the receiver keeps any sender it can't read


def _national(raw: str, region: str) -> str:
    """`destination_number` in E.164, read in `region` (Notify writes it `07…`)."""
    try:
        return phone.normalise(raw, region)
    except phone.InvalidNumber:
        return raw


def received_time(value: str, field: str = "date_received") -> datetime:
    """Notify's `2017-05-14T12:15:30.000000Z` (or any ISO 8601 time) in UTC; naive is UTC."""
    return json_fields.parse_time(value, field, naive_zone=UTC)


def received_text(
    notify_id: str,
    source_number: str,
    destination_number: str,
    message: str,
    date_received: str | None,
    region: str = NOTIFY_REGION,
) -> ParsedMessage:
    """One received text as Notify describes it, as a ParsedMessage with E.164 numbers.

    The callback and the backfill poller of `GET /v2/received-text-messages` (`id`,
    `user_number`, `notify_number`, `content`, `created_at`) both build messages here, so one
    message reaches inbound with one `provider_message_id` whichever way it came. `region`: the
    region of the service that owns the destination (the poller knows it), else GB.
    PayloadInvalid names the callback's field when a value is unusable.
    """
    fields: dict[str, object] = {
        "id": notify_id,
        "source_number": source_number,
        "destination_number": destination_number,
        "message": message,
    }
    return ParsedMessage(
        provider_message_id=json_fields.text(fields, "id"),
        sender=_international(json_fields.text(fields, "source_number"), region),
        recipient=_national(json_fields.text(fields, "destination_number"), region),
        text=json_fields.body_text(fields, "message"),
        received_at=(
            received_time(date_received)
            if date_received is not None and date_received.strip()
            else None
        ),
    )


class TokenMissing(SignatureMissing):
    """No bearer token: a 401 that challenges for one (RFC 6750)."""

    headers: Mapping[str, str] = {"WWW-Authenticate": 'Bearer realm="inbound"'}


def _digest(token: str) -> bytes:
    # Fixed-size digests compared, so the time taken says nothing about a token's length.
    return hashlib.sha256(token.encode("utf-8")).digest()


def _matches(given: bytes, accepted: Sequence[bytes]) -> bool:
    matched = False
    for digest in accepted:  # every one, so timing doesn't tell which matched
        matched |= hmac.compare_digest(given, digest)
    return matched


def bearer_token(request: WebhookRequest) -> str:
    """The token of `Authorization: Bearer <token>`, or TokenMissing."""
    scheme, _, token = (request.header("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing("Bearer token is missing", field="Authorization")
    return token.strip()


def _destination(request: WebhookRequest) -> str | None:
    """The destination in E.164 as far as the body names one, for a service token's check."""
    try:
        payload = json_fields.json_obj(request.body)
        return _national(json_fields.text(payload, "destination_number"), NOTIFY_REGION)
    except WebhookError:
        return None  # parse() says what is wrong, once the token is accepted


class Notify:
    """Checks the bearer token Notify sends and parses its received-text callback."""

    name = NAME
    methods = frozenset({"POST"})
    answer_within = ANSWER_WITHIN

    def __init__(self, tokens: Sequence[str], services: ServiceSecrets) -> None:
        self._accepted = tuple(_digest(token) for token in tokens)
        self._services = services

    async def verify(self, request: WebhookRequest) -> None:
        """Accept a platform token for any number, a service's own for its numbers only."""
        self.check_token(request, _destination, "destination_number")

    def check_token(
        self,
        request: WebhookRequest,
        number_of: Callable[[WebhookRequest], str | None],
        named_by: str,
    ) -> None:
        """The bearer-token check of every Notify callback: a platform token, or the token of
        the service owning the number `number_of` finds in the request (asked only when the
        token is not a platform one; None: no service's token will do). `named_by` is the
        field the number comes from, for the error. The delivery receipts of
        `inbound.receiver.notify_status` use it with a number of the service that maps the
        receipt's template."""
        given = _digest(bearer_token(request))
        if _matches(given, self._accepted):
            return
        recipient = number_of(request)
        if recipient is not None:
            own = [
                _digest(token.strip())
                for token in self._services.for_number(NAME, recipient)
                if len(token.strip()) >= MIN_TOKEN_LENGTH
            ]
            if _matches(given, own):
                return
        raise SignatureInvalid(
            f"Bearer token is not accepted for this {named_by}", field="Authorization"
        )

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        """The one received text Notify posts per request."""
        require_media_type(request, "application/json")
        payload = json_fields.json_obj(request.body)
        return [
            received_text(
                json_fields.text(payload, "id"),
                json_fields.text(payload, "source_number"),
                json_fields.text(payload, "destination_number"),
                json_fields.body_text(payload, "message"),
                json_fields.optional_text(payload, "date_received"),
            )
        ]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        """200: Notify reads only the status (any 2xx ends its retries)."""
        return WebhookReply(200, b'{"status": "ok"}', "application/json")


def _build_with(settings: Settings, services: ServiceSecrets) -> Notify | None:
    secret = settings.notify_inbound_tokens
    tokens = inbound_tokens(secret.get_secret_value()) if secret is not None else []
    if not tokens and not services.named(NAME):
        return None
    return Notify(tokens, services)


def _build(settings: Settings) -> Notify | None:
    return _build_with(settings, NoServiceSecrets())


SPEC = ProviderSpec(
    NAME, f"{SETTING} (or a service's notify.inbound_token_env)", _build, _build_with
)
