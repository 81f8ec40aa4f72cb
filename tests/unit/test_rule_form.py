"""The rule editor's form: fields to a rule and back, and each error on its field (issue 18)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inbound.review.rule_form import (
    FormErrors,
    RuleForm,
    blank,
    draft_errors,
    formats_for,
    from_fields,
    from_rule,
    languages_of,
    to_rule,
)
from inbound.rules.load import RuleFileError
from inbound.rules.managed import check_version
from inbound.rules.model import Rule

ROOT = Path(__file__).resolve().parents[2]
BILINGUAL = (ROOT / "rules" / "examples" / "bins-bilingual.yaml").read_text()
WELSH = ("en", "cy")


def form(**fields: Any) -> RuleForm:
    base: dict[str, Any] = {
        "name": "cancel",
        "keywords": {"": "cancel\ncancel it\n\n"},
        "match": "only",
        "action": "cancel",
        "reply": {"": ""},
    }
    return RuleForm(**(base | fields))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"name": "cancel", "keywords": ["cancel", "cancel it"], "action": "cancel"}),
        (
            {"reference": "format", "reference_format": "digits", "digits": "6"},
            {"captures": {"reference": {"digits": 6}}},
        ),
        (
            {"reference": "format", "reference_format": "digits", "digits": "4 to 8"},
            {"captures": {"reference": {"digits": [4, 8]}}},
        ),
        (
            {
                "reference": "format",
                "reference_format": "letters_digits",
                "letters": "2",
                "digits": "6",
            },
            {"captures": {"reference": {"letters": 2, "digits": 6}}},
        ),
        (
            {"reference": "format", "reference_format": "postcode", "match": "first"},
            {"captures": {"reference": "postcode"}, "match": "first"},
        ),
        (
            {"reference": "regex", "regex": "[a-z]{2}[0-9]{6}"},
            {"captures": {"reference": "[a-z]{2}[0-9]{6}"}},
        ),
        (
            {"rating": True, "requires": ("rating",), "reply": {"": "Thanks: {rating}"}},
            {"captures": {"rating": True}, "requires": ["rating"], "reply": "Thanks: {rating}"},
        ),
    ],
)
def test_a_form_becomes_the_rule_it_describes(
    fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    rule = to_rule(form(**fields), None, "GB")
    written = rule.model_dump(mode="json", exclude_defaults=True)
    assert {key: written[key] for key in expected} == expected


def test_keywords_by_language_become_lists_by_language_and_empty_languages_are_left_out() -> None:
    typed = form(keywords={"en": "cancel\n", "cy": "canslo\nna diolch"}, reply={"en": "", "cy": ""})
    rule = to_rule(typed, WELSH, "GB")
    assert rule.keywords.written() == {"en": ["cancel"], "cy": ["canslo", "na diolch"]}
    only_welsh = form(keywords={"en": " ", "cy": "canslo"}, reply={"en": "Done", "cy": "Wedi"})
    rule = to_rule(only_welsh, WELSH, "GB")
    assert rule.keywords.written() == {"cy": ["canslo"]}
    assert rule.reply == {"en": "Done", "cy": "Wedi"}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": "  "}, "name", "Enter a name"),
        ({"keywords": {"": "\n \n"}}, "keywords", "Enter at least one keyword"),
        ({"match": ""}, "match", "Select how the keywords match"),
        ({"action": "launch"}, "action", "Select what happens"),
        ({"reference": "format", "reference_format": ""}, "reference-format", "Select"),
        ({"reference": "format", "reference_format": "digits"}, "reference-digits", "how many"),
        (
            {"reference": "format", "reference_format": "digits", "digits": "8 to 4"},
            "reference-digits",
            "goes from more to fewer",
        ),
        (
            {"reference": "format", "reference_format": "letters_digits", "digits": "6"},
            "reference-letters",
            "how many letters",
        ),
        ({"reference": "regex", "regex": ""}, "reference-regex", "Enter the regular"),
        ({"reference": "regex", "regex": "[a-z"}, "reference-regex", "not a valid regular"),
        ({"requires": ("reference",)}, "requires", "no reference pattern"),
        ({"requires": ("bogus",)}, "requires", "Select only"),
        ({"reply": {"": "Cancelled {reference}"}}, "reply", "never captures"),
        ({"match": "regex", "keywords": {"": "("}}, "keywords", "not a valid regular"),
        ({"name": "carrier opt-out"}, "name", "reserved"),
        ({"keywords": {"": "!!!"}}, "keywords", "empty once punctuation"),
    ],
)
def test_each_error_is_on_its_field(fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(FormErrors) as raised:
        to_rule(form(**fields), None, "GB")
    assert [error.field for error in raised.value.errors] == [field]
    assert words in raised.value.errors[0].message


def test_several_errors_are_reported_at_once() -> None:
    with pytest.raises(FormErrors) as raised:
        to_rule(form(name="", keywords={"": ""}, action=""), None, "GB")
    assert [error.field for error in raised.value.errors] == ["name", "keywords", "action"]


def test_errors_by_language_are_on_that_language_s_field() -> None:
    typed = form(
        keywords={"en": "cancel", "cy": "canslo"},
        reply={"en": "Done", "cy": "Wedi {reference}"},
    )
    with pytest.raises(FormErrors) as raised:
        to_rule(typed, WELSH, "GB")
    assert [error.field for error in raised.value.errors] == ["reply-cy"]
    with pytest.raises(FormErrors) as raised:
        to_rule(form(keywords={"en": "", "cy": ""}, reply={}), WELSH, "GB")
    assert [error.field for error in raised.value.errors] == ["keywords-en"]


def test_gb_formats_are_offered_only_in_gb() -> None:
    assert "postcode" in {choice.value for choice in formats_for("GB")}
    assert {choice.value for choice in formats_for("US")} == {
        "digits",
        "letters_digits",
        "letters_then_digits",
    }
    with pytest.raises(FormErrors) as raised:
        to_rule(form(reference="format", reference_format="postcode"), None, "US")
    assert [error.field for error in raised.value.errors] == ["reference-format"]


RULES = [
    {"name": "a", "keywords": ["yes", "y"], "action": "confirm", "reply": "Thanks"},
    {
        "name": "b",
        "keywords": ["report"],
        "match": "first",
        "action": "report",
        "captures": {"reference": {"letters": 2, "digits": [4, 8]}, "rating": True},
        "requires": ["details", "reference"],
    },
    {"name": "c", "keywords": ["ref"], "action": "change", "captures": {"reference": "ni_number"}},
    {"name": "d", "keywords": ["x"], "action": "manual", "captures": {"reference": "[0-9]{3}"}},
    {"name": "e", "keywords": ["n"], "action": "cancel", "captures": {"reference": {"digits": 6}}},
]


@pytest.mark.parametrize("written", RULES, ids=[rule["name"] for rule in RULES])
def test_a_rule_survives_the_form_and_back(written: dict[str, Any]) -> None:
    rule = Rule.model_validate(written)
    assert to_rule(from_rule(rule, None), None, "GB") == rule


def test_a_bilingual_rule_survives_the_form_and_back() -> None:
    report = check_version("bins", None, BILINGUAL)
    service = report.services[0][1]
    languages = languages_of(service)
    assert languages == WELSH
    for rule in service.rules:
        filled = from_rule(rule, languages)
        assert set(filled.keywords) == {"en", "cy"}
        assert to_rule(filled, languages, "GB") == rule
    confirm = from_rule(service.rules[0], languages)
    assert confirm.keywords["cy"].splitlines()[:2] == ["ie", "ydw"]


def test_a_plain_list_in_a_bilingual_service_is_the_default_language_s() -> None:
    rule = Rule.model_validate({"name": "a", "keywords": ["yes"], "action": "confirm"})
    assert from_rule(rule, WELSH).keywords == {"en": "yes", "cy": ""}


PLAIN = """
service: {id: plain, name: Plain, region: GB, numbers: ["+447700900010"]}
rules:
  - {name: a, keywords: ["yes"], action: confirm, reply: Thanks}
"""


def test_a_service_without_languages_gets_one_field_each() -> None:
    service = check_version("plain", None, PLAIN).services[0][1]
    assert languages_of(service) is None
    assert blank(None) == RuleForm(keywords={"": ""}, reply={"": ""})
    assert from_rule(service.rules[0], None).reply == {"": "Thanks"}


def test_posted_fields_become_the_form() -> None:
    posted = {
        "name": "a",
        "keywords-en": "yes",
        "keywords-cy": "ie",
        "match": "only",
        "action": "confirm",
        "reference": "",
        "rating": "yes",
        "reply-en": "Thanks",
    }
    typed = from_fields(posted, ["details", "details"], WELSH)
    assert typed.keywords == {"en": "yes", "cy": "ie"}
    assert typed.reply == {"en": "Thanks", "cy": ""}
    assert typed.reference == "none"
    assert typed.rating is True
    assert typed.requires == ("details",)


def error(field: str | None, problem: str) -> RuleFileError:
    return RuleFileError(Path("draft"), 3, problem, "fix it", field)


@pytest.mark.parametrize(
    ("field", "problem", "index", "expected"),
    [
        ("rules[2].name", "rule name 'cancel' is used twice", 2, "name"),
        # The name is reported at the later of the two: the earlier rule being changed.
        ("rules[4].name", "rule name 'cancel' is used twice", 1, "name"),
        ("rules[4].name", "rule name 'other' is used twice", 1, None),
        ("rules[2].reply", "rule 'x' has no reply in the service's language (en)", 2, "reply-en"),
        ("rules[2].reply.cy", "unmatched {", 2, "reply-cy"),
        ("rules[2].keywords.cy[0]", "is blank", 2, "keywords-cy"),
        ("rules[2].captures.reference", "for region GB", 2, "reference-format"),
        ("rules[1].keywords.cy[0]", "is blank", 2, None),
        ("service.numbers[0]", "clash", 2, None),
        (None, "not YAML", 2, None),
    ],
)
def test_the_draft_s_errors_land_on_the_field_they_name(
    field: str | None, problem: str, index: int, expected: str | None
) -> None:
    typed = form(
        keywords={"en": "cancel", "cy": ""},
        reply={"en": "", "cy": ""},
        reference="format",
        reference_format="postcode",
    )
    found = draft_errors([error(field, problem)], index, typed, WELSH)
    assert [e.field for e in found] == [expected]
    assert found[0].message.startswith(problem[:1].upper())
    assert found[0].message.endswith("Fix it")
