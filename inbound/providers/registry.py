"""Which providers exist and which are enabled: `/webhooks/{name}` → provider object."""

from __future__ import annotations

import importlib
from functools import cache
from typing import cast

from inbound.config import Settings
from inbound.providers.base import Provider, ProviderSpec, ServiceSecrets

# One line per provider module (inbound/providers/<name>.py, which defines SPEC).
MODULES = (
    "bandwidth",
    "firetext",
    "generic",
    "infobip",
    "messagebird",
    "mmg",
    "notify",
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


def enabled_providers(
    settings: Settings, services: ServiceSecrets | None = None
) -> dict[str, Provider]:
    """The providers whose settings (or, for some, services' rule files) are configured."""
    providers: dict[str, Provider] = {}
    for name, spec in specs().items():
        if spec.build_with_services is not None and services is not None:
            provider = spec.build_with_services(settings, services)
        else:
            provider = spec.build(settings)
        if provider is not None:
            providers[name] = provider
    return providers


class UnverifiedNotAllowed(ValueError):
    """INBOUND_UNVERIFIED_PROVIDERS names a provider that doesn't exist or can be verified."""


def check_unverified(settings: Settings) -> None:
    """Refuse an unverified-providers setting that would weaken a verifiable provider."""
    known = specs()
    for name in settings.unverified_providers:
        spec = known.get(name)
        if spec is None:
            raise UnverifiedNotAllowed(f"INBOUND_UNVERIFIED_PROVIDERS: no provider called {name!r}")
        if not spec.may_be_unverified:
            raise UnverifiedNotAllowed(
                f"INBOUND_UNVERIFIED_PROVIDERS: {name} can always be verified; set "
                f"{spec.enabled_by} instead"
            )
