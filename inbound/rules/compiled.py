"""The rules in force: a RuleBook with each service's matcher built once. Pure."""

from __future__ import annotations

from collections.abc import Callable

from inbound.rules.match import Decision, Matcher
from inbound.rules.model import Rule, RuleBook, ServiceRules


class CompiledRules:
    """A RuleBook with each service's matcher built once, not per message."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self._matchers = {service_id: Matcher(rules) for service_id, rules in book.services.items()}

    def service_for(self, number: str) -> ServiceRules | None:
        """The service that owns an inbound number."""
        return self.book.service_for_number(number)

    def service(self, service_id: str) -> ServiceRules | None:
        """A service by its id."""
        return self.book.services.get(service_id)

    def decide(self, service: ServiceRules, text: str) -> Decision:
        """The service's rules' decision for a text."""
        return self._matchers[service.service.id].decide(text)

    def rule(self, service: ServiceRules, name: str | None) -> Rule | None:
        """A service's rule by name."""
        return next((rule for rule in service.rules if rule.name == name), None)

    def retention_days(self) -> dict[str, int]:
        """Each service's retention in days, from its rule file."""
        return {sid: s.service.retention_days for sid, s in self.book.services.items()}


# How every component reads the rules: call it for the set in force now. A reload swaps what it
# returns; nobody holds on to an old set.
RulesInForce = Callable[[], CompiledRules]


def fixed(rules: CompiledRules) -> RulesInForce:
    """The rules in force for a process that never reloads (a command, a test)."""
    return lambda: rules
