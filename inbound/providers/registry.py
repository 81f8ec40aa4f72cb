"""Which providers exist and which are enabled: `/webhooks/{name}` → provider object."""

from __future__ import annotations

import importlib
from functools import cache
from typing import cast

from inbound.config import Settings
from inbound.providers.base import Provider, ProviderSpec

# One line per provider module (inbound/providers/<name>.py, which defines SPEC).
MODULES = (
    "bandwidth",
    "firetext",
    "generic",
    "infobip",
    "messagebird",
    "mmg",
    "plivo",
    "sinch",
    "sns",
    "telnyx",
    "twilio",
    "vonage",
    "vonage_messages",
)


@cache
def specs() -> dict[str, ProviderSpec]:
    """Every provider inbound knows, by URL name."""
    found: dict[str, ProviderSpec] = {}
    for module_name in MODULES:
        spec = cast(ProviderSpec, importlib.import_module(f"inbound.providers.{module_name}").SPEC)
        found[spec.name] = spec
    return found


def enabled_providers(settings: Settings) -> dict[str, Provider]:
    """The providers whose settings are configured."""
    providers: dict[str, Provider] = {}
    for name, spec in specs().items():
        provider = spec.build(settings)
        if provider is not None:
            providers[name] = provider
    return providers
