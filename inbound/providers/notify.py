"""GOV.UK Notify's received-text callback: a reply Notify took from MMG or Firetext, forwarded.

Notify posts `{"id", "source_number", "destination_number", "message", "date_received"}` as
JSON with `Authorization: Bearer <token>`, the token the service typed into its callback
settings (notifications-api `app/celery/service_callback_tasks.py`, `send_inbound_sms_to_service`).
`id` is Notify's UUID for the message, our dedupe key, so the same message posted again, or
fetched by the backfill poller from `GET /v2/received-text-messages`, is one message.
`source_number` is international without `+` (`447700900123`), `destination_number` national
(`07700900123`); `date_received` is the provider's time in UTC, written
`%Y-%m-%dT%H:%M:%S.%fZ` (`DATETIME_FORMAT` in notifications-api `app/utils.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from inbound import phone
from inbound.providers import json_fields
from inbound.providers.base import ParsedMessage

# Notify's inbound numbers are all UK numbers: a destination no service owns is read as one.
NOTIFY_REGION = "GB"


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
