"""One page of Notify's `GET /v2/received-text-messages`, read into values. Pure.

The body is `{"received_text_messages": [{"id", "user_number", "notify_number", "content",
"created_at", "service_id"}, …], "links": {"current", "next"}}`, newest first
(notifications-api `app/models.py` `InboundSms.serialize`; `created_at` written
`%Y-%m-%dT%H:%M:%S.%fZ`, UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

from inbound.backfill.walk import Kept
from inbound.providers import json_fields
from inbound.providers.base import WebhookError
from inbound.providers.notify import received_time

LIST = "received_text_messages"


class PageInvalid(ValueError):
    """A page that isn't Notify's shape where the walk needs it (the list, an id, a time)."""


@dataclass(frozen=True)
class ReceivedText:
    """One received text as Notify lists it: where it sits in the walk, and its fields."""

    kept: Kept
    user_number: str  # the sender, international without `+`
    notify_number: str  # the service's number, national
    content: str
    created_at: str  # as Notify wrote it: what `received_text` reads as date_received


def _field(item: object, name: str) -> str:
    value = item.get(name) if isinstance(item, dict) else None
    return value if isinstance(value, str) else ""


def read_page(body: bytes) -> list[ReceivedText]:
    """The page's texts, newest first. PageInvalid when the list, an id or a time is unusable:
    without them the walk can't go on, whereas an odd number or text is the message's problem
    (left to `received_text`)."""
    try:
        decoded = json_fields.json_obj(body)
    except WebhookError as error:
        raise PageInvalid(f"not Notify's JSON: {error}") from None
    items = decoded.get(LIST)
    if not isinstance(items, list):
        raise PageInvalid(f"no {LIST} list in the answer")
    texts: list[ReceivedText] = []
    for index, item in enumerate(items):
        notify_id, created_at = _field(item, "id").strip(), _field(item, "created_at")
        if not notify_id:
            raise PageInvalid(f"{LIST}[{index}] has no id")
        try:
            received = received_time(created_at, "created_at")
        except WebhookError:
            raise PageInvalid(f"{LIST}[{index}] has no usable created_at") from None
        texts.append(
            ReceivedText(
                Kept(notify_id, received),
                _field(item, "user_number"),
                _field(item, "notify_number"),
                _field(item, "content"),
                created_at,
            )
        )
    return texts
