"""The received-text-messages API in GOV.UK Notify's shape: message ids as UUIDs, numbers as
Notify writes them, one message's JSON and a page's links. Pure: values in, values out.

Notify's fields (`InboundSms.serialize` in notifications-api, and its API documentation,
"Get received text messages"): `id` (UUID), `user_number` (international, no `+`:
`447700900123`), `notify_number` (the service's number, national: `07700900456`),
`created_at` (`%Y-%m-%dT%H:%M:%S.%fZ`, UTC), `service_id` (UUID), `content`. Pages hold 250,
newest first; `links.next` is the same URL with `older_than=<last id>` and is present whenever the
page is not empty (notifications-python-client's iterator stops at the first empty page).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inbound.notify_keys import service_uuid

PAGE_SIZE = 250
NOTIFY_PROVIDER = "notify"  # messages that came through Notify keep Notify's id
CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# A message that did not come through Notify gets a version-8 UUID (RFC 9562, "custom") that
# holds its row id: stable, readable back from `older_than` without a stored column, and never
# equal to a Notify id (those are version 4). The first 48 bits spell "inboun" in ASCII.
_MARKER = 0x696E626F756E
_FIXED = (_MARKER << 80) | (0x8 << 76) | (0b10 << 62)  # marker, version 8, 12 zero bits, variant
_ROW_BITS = (1 << 62) - 1


def message_uuid(row_id: int) -> uuid.UUID:
    """The UUID standing for an inbound message row in Notify's API."""
    if not 0 < row_id <= _ROW_BITS:
        raise ValueError(f"no UUID for message row {row_id}")
    return uuid.UUID(int=_FIXED | row_id)


def row_id(value: uuid.UUID) -> int | None:
    """The message row a `message_uuid` stands for; None for any other UUID (Notify's own)."""
    if value.int & ~_ROW_BITS != _FIXED:
        return None
    return value.int & _ROW_BITS or None


def notify_id(provider: str, provider_message_id: str) -> uuid.UUID | None:
    """Notify's own id of a message that came through Notify, if it is one."""
    if provider != NOTIFY_PROVIDER:
        return None
    try:
        return uuid.UUID(provider_message_id)
    except ValueError:
        return None


def user_number(sender: str) -> str:
    """Notify's `user_number`: the international number without its `+` (E.164 digits)."""
    return sender.removeprefix("+")


def notify_number(recipient: str) -> str:
    """Notify's `notify_number`: a UK number in national form (`07…`), as Notify shows its
    inbound numbers; any other number as its digits, a short code as it is."""
    if recipient.startswith("+44"):
        return "0" + recipient[3:]
    return recipient.removeprefix("+")


@dataclass(frozen=True)
class ReceivedText:
    """One stored message with what inbound did about it, as the store reads it."""

    row_id: int
    provider: str
    provider_message_id: str
    sender: str  # E.164
    recipient: str
    service_id: str
    content: str
    received_at: datetime
    status: str  # processed | review | repeat
    action: str | None  # the outcome's action: a rule's, or a caseworker's decision
    rule: str | None
    review_state: str | None  # a ReviewState, when it went to review
    prompt_reference: str | None  # the reference of the prompt it answers or relates to

    @property
    def id(self) -> uuid.UUID:
        """Its id in the API: Notify's own when it came through Notify."""
        return notify_id(self.provider, self.provider_message_id) or message_uuid(self.row_id)


def message_json(text: ReceivedText) -> dict[str, Any]:
    """One entry of `received_text_messages`: Notify's six fields, then inbound's own under
    `inbound` (a client written for Notify ignores it)."""
    return {
        "id": str(text.id),
        "user_number": user_number(text.sender),
        "notify_number": notify_number(text.recipient),
        "created_at": text.received_at.astimezone(UTC).strftime(CREATED_AT_FORMAT),
        "service_id": str(service_uuid(text.service_id)),
        "content": text.content,
        "inbound": {
            "service": text.service_id,
            "provider": text.provider,
            "outcome": text.status,
            "action": text.action,
            "rule": text.rule,
            "review_state": text.review_state,
            "prompt_reference": text.prompt_reference,
        },
    }


def page_json(texts: list[ReceivedText], current: str, next_base: str) -> dict[str, Any]:
    """A page: the messages, and links to it and (when it is not empty) to the next, older one.
    `next_base` is the URL without a query; `older_than` is the last message's id."""
    links: dict[str, str] = {"current": current}
    if texts:
        links["next"] = f"{next_base}?older_than={texts[-1].id}"
    return {"received_text_messages": [message_json(text) for text in texts], "links": links}
