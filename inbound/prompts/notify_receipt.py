"""GOV.UK Notify's delivery receipts, and which of them become prompts (issue 17). Pure.

When a service has a delivery-status callback, Notify posts one JSON object per message once its
status is final: `id` (Notify's UUID for the message), `reference` (the service's own, or null),
`to` (the number as the service gave it, e.g. `07700912345`), `status` (`delivered`,
`permanent-failure`, `temporary-failure` or `technical-failure`), `created_at`, `completed_at`
and `sent_at` (`2017-05-14T12:15:30.000000Z`, the last two may be null), `notification_type`
(`sms` or `email`), `template_id` and `template_version` (a number; every other value is a
string). Sources: Notify's API documentation, "Callbacks", "Delivery receipts"
(docs.notifications.service.gov.uk/rest-api.html#delivery-receipts), and notifications-api
`app/celery/service_callback_tasks.py` `send_delivery_status_to_service`.

`read_receipt` turns the body into a `Receipt` (a `PayloadInvalid` naming the field otherwise);
`prompt_for` decides, from the rule book alone, whether a receipt becomes a prompt: only a
delivered text of a template some service's `prompts.templates` maps does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inbound import phone
from inbound.prompts.intake import MAX_REFERENCE
from inbound.prompts.model import Prompt
from inbound.providers import json_fields
from inbound.providers.base import PayloadInvalid
from inbound.rules.model import Action, RuleBook

DELIVERED = "delivered"  # the one status after which the person has the question
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Skipped(StrEnum):
    """Why a receipt made no prompt (the label of the receipts metric, beside `prompt`)."""

    NOT_SMS = "not_sms"  # an email or a letter: nobody texts back to those
    UNMAPPED = "unmapped_template"  # no service's rule file maps the template: not a question
    NOT_DELIVERED = "not_delivered"  # a failure: the person never got the question


@dataclass(frozen=True)
class Receipt:
    """One delivery receipt, its fields read and checked; times in UTC."""

    id: str  # Notify's UUID for the message, lower case
    reference: str | None  # the service's own reference, when it set one
    to: str  # as the service gave it to Notify: not necessarily E.164
    status: str
    notification_type: str
    template_id: str  # lower case
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None


def _uuid(fields: Mapping[str, object], name: str) -> str:
    value = json_fields.text(fields, name).strip().lower()
    if not _UUID.match(value):
        raise PayloadInvalid(f"{name} is not a UUID", field=name)
    return value


def read_receipt(fields: Mapping[str, object]) -> Receipt:
    """A delivery receipt from its decoded JSON; PayloadInvalid names the field at fault.

    Fields Notify may add later are ignored; `template_version` is not used, so not checked.
    """
    # Read in the order Notify documents them, so the first wrong field is the one named.
    notify_id = _uuid(fields, "id")
    reference = json_fields.optional_text(fields, "reference")
    to = json_fields.text(fields, "to")
    status = json_fields.text(fields, "status").strip().lower()
    created_at = json_fields.optional_time(fields, "created_at")
    if created_at is None:
        raise PayloadInvalid("missing required field 'created_at'", field="created_at")
    return Receipt(
        id=notify_id,
        reference=reference,
        to=to,
        status=status,
        created_at=created_at,
        completed_at=json_fields.optional_time(fields, "completed_at"),
        sent_at=json_fields.optional_time(fields, "sent_at"),
        notification_type=json_fields.text(fields, "notification_type").strip().lower(),
        template_id=_uuid(fields, "template_id"),
    )


def reference_of(receipt: Receipt) -> str:
    """The prompt's reference: the service's own, or Notify's id for the message when the
    service sent none (a reply then reaches the service with the id Notify gave it on sending).
    """
    if receipt.reference is None or not receipt.reference.strip():
        return receipt.id
    reference = receipt.reference.strip()
    if len(reference) > MAX_REFERENCE:
        raise PayloadInvalid(
            f"reference is longer than {MAX_REFERENCE} characters", field="reference"
        )
    if not reference.isprintable():
        raise PayloadInvalid("reference has a control character", field="reference")
    return reference


def prompt_for(receipt: Receipt, book: RuleBook) -> Prompt | Skipped:
    """The prompt a receipt makes, or why it makes none.

    A failed text makes none and withdraws nothing: a prompt already stored under the same
    reference came from another text (an earlier reminder that was delivered, or the prompts
    API), and that question still stands. The prompt's `sent_at` is Notify's `sent_at` (its
    `created_at` when Notify gave none); its text is unknown (receipts carry none).
    """
    if receipt.notification_type != "sms":
        return Skipped.NOT_SMS
    owner = book.service_for_template(receipt.template_id)
    if owner is None:
        return Skipped.UNMAPPED
    if receipt.status != DELIVERED:
        return Skipped.NOT_DELIVERED
    template = owner.prompts.templates[receipt.template_id]
    region = owner.service.region
    try:
        to = phone.normalise(receipt.to, region)
    except phone.InvalidNumber:
        to = ""
    if not phone.is_e164(to):
        raise PayloadInvalid(
            f"to is not a phone number (read in {owner.service.id}'s region, {region})",
            field="to",
        )
    sent_at = receipt.sent_at or receipt.created_at
    return Prompt(
        service=owner.service.id,
        recipient=to,
        reference=reference_of(receipt),
        expects=frozenset(Action(name) for name in template.expects),
        sent_at=sent_at,
        expires_at=sent_at + template.expires_after,
        text=None,
    )
