"""The rule model and the rule book: what a valid rule file is, and number lookup."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"keywords": ["("], "match": "regex"}, "is not a valid regular expression"),
        ({"keywords": ["x*"], "match": "regex"}, "matches an empty reply"),
        ({"keywords": ["👍"], "match": "first"}, "needs `match: only`"),
        ({"requires": ["reference"]}, "has no reference pattern"),
        ({"requires": ["rating"]}, "doesn't capture one"),
        ({"captures": {"reference": "[a-z"}}, "is not a valid regular expression"),
        ({"reply": "Thanks {details}"}, "uses {details}, which this rule never captures"),
        ({"reply": "Thanks {"}, "unmatched { or }"),
        ({"name": "Carrier opt-out"}, "reserved for carrier opt-out words"),
    ],
)
def test_rule_problems_are_explained(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        Rule(**{"name": "renew", "keywords": ["renew"], "action": "confirm", **fields})


def test_rule_captures_and_templates_that_fit_are_accepted() -> None:
    rule = Rule(
        name="status",
        keywords=["status"],
        match=MatchKind.first,
        action=Action.follow_up,
        captures={"reference": "[a-z]{2}[0-9]{6}", "rating": True},
        requires=["reference", "details"],
        reply="{reference} {details} {rating} {{literal}}",
    )
    assert rule.provided_captures() == {"details", "reference", "rating"}
    regex = Rule(name="r", keywords=["^(?P<rating>[1-5])$"], match="regex", action="feedback")
    assert regex.provided_captures() == {"rating"}


def test_emoji_keyword_is_allowed_for_only_rules() -> None:
    assert Rule(name="thumb", keywords=["👍"], action="confirm").keywords == ["👍"]


@pytest.mark.parametrize(
    ("callback", "ok"),
    [
        ({"url": "https://service.example/in", "secret_env": "SERVICE_SECRET"}, True),
        ({"url": "https://service.example/in"}, True),
        ({"url": "service.example/in"}, False),
        ({"url": "https://service.example/in", "secret_env": "s3cr3t-value"}, False),
        ({"url": "https://service.example/in", "secret": "inline"}, False),
    ],
)
def test_callback_names_the_secrets_variable_never_the_secret(
    callback: dict[str, str], ok: bool
) -> None:
    base = {"id": "library", "name": "Town library", "region": "GB", "numbers": ["+447700900111"]}
    if ok:
        assert Service(**base, callback=callback).callback is not None
    else:
        with pytest.raises(ValidationError):
            Service(**base, callback=callback)


@pytest.mark.parametrize(
    ("notify", "ok"),
    [
        ({"api_key_env": "LIBRARY_NOTIFY_KEY", "inbound_token_env": "LIBRARY_NOTIFY_TOKEN"}, True),
        ({"sms_sender_id": "8E222534-7F05-4972-86E3-17C5D9F894E2"}, True),
        ({}, True),
        ({"api_key_env": "library-abc-def"}, False),  # a key pasted in, not a variable's name
        ({"inbound_token_env": "a token of 10+"}, False),
        ({"sms_sender_id": "+447700900111"}, False),  # the number, not Notify's id for it
        ({"template_id": "F33517FF-2A88-4F6E-B855-C550268CE08A"}, True),
        ({"template_id": "reply template"}, False),  # its name, not its id
        ({"api_key": "inline"}, False),
    ],
)
def test_notify_settings_name_variables_and_notify_ids(notify: dict[str, str], ok: bool) -> None:
    base = {"id": "library", "name": "Town library", "region": "GB", "numbers": ["+447700900111"]}
    if ok:
        service = Service(**base, notify=notify)
        assert service.notify is not None
        if "sms_sender_id" in notify:
            assert service.notify.sms_sender_id == notify["sms_sender_id"].lower()
        if "template_id" in notify:
            assert service.notify.template_id == notify["template_id"].lower()
    else:
        with pytest.raises(ValidationError):
            Service(**base, notify=notify)
