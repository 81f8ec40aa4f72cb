"""The webhook secrets services' rule files name, read from the environment when a webhook asks.

A rule file never holds a secret, only the name of the variable that does (as `secret_env` for
callbacks). Read per request, like the action worker's callback secrets, so a token a reloaded
rule file names is in force at once; a reload changes which service owns which number too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from inbound.rules.compiled import RulesInForce
from inbound.rules.model import ServiceRules


def _variable(provider: str, owner: ServiceRules | None) -> str | None:
    """The variable a service's rule file names for a provider's secret, if any."""
    if owner is None:
        return None
    if provider == "notify" and owner.service.notify is not None:
        return owner.service.notify.inbound_token_env
    return None


class RuleFileSecrets:
    """ServiceSecrets from the rule files in force and the process environment."""

    def __init__(self, rules: RulesInForce, environ: Mapping[str, str] = os.environ) -> None:
        self._rules = rules
        self._environ = environ

    def for_number(self, provider: str, number: str) -> Sequence[str]:
        """The owning service's secrets: one, or two comma-separated during a rotation."""
        name = _variable(provider, self._rules().service_for(number))
        value = self._environ.get(name, "") if name else ""
        return [part.strip() for part in value.split(",") if part.strip()]

    def named(self, provider: str) -> bool:
        """True when a service's rule file names a variable for the provider's secret."""
        services = self._rules().book.services.values()
        return any(_variable(provider, service) is not None for service in services)
