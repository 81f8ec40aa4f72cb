"""Which providers are enabled: the URL segment `/webhooks/{name}` → provider object."""

from __future__ import annotations

from inbound.config import Settings
from inbound.providers.base import Provider
from inbound.providers.generic import Generic
from inbound.providers.twilio import Twilio

# Each provider and the setting that enables it, for help text and "not configured" errors.
KNOWN: dict[str, str] = {
    "twilio": "INBOUND_TWILIO_AUTH_TOKEN",
    "generic": "INBOUND_GENERIC_SECRET",
}


def _secrets(value: str) -> list[str]:
    # Two comma-separated secrets are accepted at once so a key can be rotated without downtime.
    return [part.strip() for part in value.split(",") if part.strip()]


def enabled_providers(settings: Settings) -> dict[str, Provider]:
    """The providers whose secrets are configured."""
    providers: dict[str, Provider] = {}
    if settings.twilio_auth_token is not None:
        providers["twilio"] = Twilio(
            _secrets(settings.twilio_auth_token.get_secret_value()), settings.twilio_account_sid
        )
    if settings.generic_secret is not None:
        providers["generic"] = Generic(_secrets(settings.generic_secret.get_secret_value()))
    return providers
