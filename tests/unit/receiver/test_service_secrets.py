"""The secrets rule files name, read from the environment for the service owning a number."""

from __future__ import annotations

from inbound.receiver.service_secrets import RuleFileSecrets
from inbound.rules.compiled import CompiledRules, fixed
from inbound.rules.model import RuleBook, ServiceRules


def rules(notify: dict[str, str] | None) -> CompiledRules:
    service: dict[str, object] = {
        "id": "library",
        "name": "Town library",
        "region": "GB",
        "numbers": ["+447700900111"],
    }
    if notify is not None:
        service["notify"] = notify
    file = ServiceRules.model_validate(
        {"service": service, "rules": [{"name": "yes", "keywords": ["yes"], "action": "confirm"}]}
    )
    return CompiledRules(RuleBook([file]))


def test_a_services_token_is_read_from_the_variable_its_rule_file_names() -> None:
    environ = {"LIBRARY_NOTIFY_TOKEN": "old-library-token, new-library-token"}
    secrets = RuleFileSecrets(fixed(rules({"inbound_token_env": "LIBRARY_NOTIFY_TOKEN"})), environ)
    assert secrets.named("notify")
    assert secrets.for_number("notify", "+447700900111") == [
        "old-library-token",
        "new-library-token",
    ]
    assert secrets.for_number("notify", "+447700900999") == []  # no service owns it
    assert secrets.for_number("mmg", "+447700900111") == []  # named for Notify only
    assert not secrets.named("mmg")


def test_nothing_when_the_rule_file_names_none_or_the_variable_is_unset() -> None:
    assert not RuleFileSecrets(fixed(rules(None)), {}).named("notify")
    unset = RuleFileSecrets(fixed(rules({"inbound_token_env": "LIBRARY_NOTIFY_TOKEN"})), {})
    assert unset.for_number("notify", "+447700900111") == []
