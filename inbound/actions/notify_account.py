"""Which GOV.UK Notify account a service's replies go through: its own API key, template and
text sender from its rule file's `service.notify` block, else the global INBOUND_NOTIFY_*. Pure
(the caller passes how to read a variable)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inbound.rules.model import Notify


@dataclass(frozen=True)
class NotifyAccount:
    """What one reply is sent with."""

    api_key: str
    template_id: str
    sms_sender_id: str | None = None  # Notify's default sender when None
    key_name: str = "INBOUND_NOTIFY_API_KEY"  # where the key came from, for error messages


class NoNotifyAccount(Exception):
    """The service's replies can't go through Notify until a setting is fixed (said in words)."""


@dataclass(frozen=True)
class Defaults:
    """The global settings a service without its own falls back on."""

    api_key: str | None
    template_id: str | None


def account(
    notify: Notify | None, defaults: Defaults, read: Callable[[str], str | None]
) -> NotifyAccount:
    """The account for a service whose rule file has `notify` (None: no block); `read` reads an
    environment variable. NoNotifyAccount when a key or template is missing."""
    key_name = "INBOUND_NOTIFY_API_KEY"
    key = defaults.api_key
    if notify is not None and notify.api_key_env:
        key_name = notify.api_key_env
        key = (read(key_name) or "").strip() or None
        if key is None:
            raise NoNotifyAccount(
                f"{key_name} is not set, and it is where the service's rule file says its "
                "Notify API key is (service.notify.api_key_env)"
            )
    if key is None:
        raise NoNotifyAccount(
            "there is no Notify API key to send it with: set INBOUND_NOTIFY_API_KEY, or name the "
            "service's own in its rule file (service.notify.api_key_env)"
        )
    template = (notify.template_id if notify is not None else None) or defaults.template_id
    if template is None:
        raise NoNotifyAccount(
            "there is no Notify template to send it with: set INBOUND_NOTIFY_TEMPLATE_ID, or "
            "the service's own in its rule file (service.notify.template_id)"
        )
    sender = notify.sms_sender_id if notify is not None else None
    return NotifyAccount(key, template, sender, key_name)
