"""The rule model and the rule book: what a valid rule file is, and number lookup."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from inbound.rules.model import Action, MatchKind, Rule, RuleBook, Service, ServiceRules


def service_rules(service_id: str = "library", *numbers: str, **rule: Any) -> ServiceRules:
    """A one-rule service; `rule` overrides the rule's fields."""
    return ServiceRules(
        service=Service(
            id=service_id,
            name="Town library",
            region="GB",
            numbers=list(numbers or ["+447700900111"]),
        ),
        rules=[Rule(**{"name": "renew", "keywords": ["renew"], "action": "confirm", **rule})],
    )


def test_rule_defaults() -> None:
    rule = Rule(name="renew", keywords=["renew"], action=Action.confirm)
    assert (rule.match, rule.requires, rule.reply) == (MatchKind.only, [], None)


def test_models_are_frozen() -> None:
    rules = service_rules()
    with pytest.raises(ValidationError):
        rules.service.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": " "},
        {"keywords": []},
        {"keywords": ["renew", "!!"]},
        {"action": "renew"},
        {"match": "anywhere"},
        {"requires": ["reference"]},
        {"requires": ["details"]},  # an `only` rule never has details
        {"priority": 1},
    ],
)
def test_invalid_rule_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rule(**{"name": "renew", "keywords": ["renew"], "action": "confirm", **fields})


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+447700900111", "+447700900111"),
        ("07700 900111", "+447700900111"),
        ("0044 7700 900111", "+447700900111"),
        ("447700900111", "+447700900111"),
        ("+44 20 7946 0000", "+442079460000"),
    ],
)
def test_service_numbers_are_stored_in_e164(raw: str, stored: str) -> None:
    assert service_rules("library", raw).service.numbers == [stored]


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "Library"},
        {"id": "-library"},
        {"region": "UK"},
        {"region": "gb"},
        {"numbers": []},
        {"numbers": ["INFO"]},
        {"numbers": ["60060"]},
        {"numbers": ["+4477009001"]},
        {"numbers": ["+447700900111", "07700 900111"]},
        {"retention_days": 0},
    ],
)
def test_invalid_service_is_refused(fields: dict[str, Any]) -> None:
    base = {"id": "library", "name": "Town library", "region": "GB", "numbers": ["+447700900111"]}
    with pytest.raises(ValidationError):
        Service(**{**base, **fields})


def test_rule_names_are_unique_within_a_file() -> None:
    rule = Rule(name="renew", keywords=["renew"], action=Action.confirm)
    with pytest.raises(ValidationError, match="used twice"):
        ServiceRules(service=service_rules().service, rules=[rule, rule])


def test_rule_book_finds_service_by_number() -> None:
    library = service_rules("library", "+447700900111", "+447700900112")
    museum = service_rules("museum", "+447700900113")
    book = RuleBook([library, museum])
    assert book.service_for_number("+447700900112") is library
    assert book.service_for_number("+447700900999") is None
    assert book.numbers() == {
        "+447700900111": "library",
        "+447700900112": "library",
        "+447700900113": "museum",
    }
    assert dict(book.services) == {"library": library, "museum": museum}


def test_rule_book_refuses_a_number_in_two_services() -> None:
    with pytest.raises(ValueError, match=r"\+447700900111 belongs to both 'library' and 'museum'"):
        RuleBook([service_rules("library"), service_rules("museum")])


def test_rule_book_refuses_a_service_id_twice() -> None:
    with pytest.raises(ValueError, match="service id 'library' is defined twice"):
        RuleBook([service_rules("library"), service_rules("library", "+447700900112")])
