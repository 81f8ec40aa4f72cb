"""More than one language: keywords and replies per language, the reply in the person's language,
and typo tolerance that never crosses between short words of two languages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from inbound.actions.effects import EffectPolicy, SenderHistory, plan_effects
from inbound.cli import main
from inbound.rules.language import language_name, reply_language, written_in
from inbound.rules.load import load_directory
from inbound.rules.match import Matcher
from inbound.rules.model import Rule, ServiceRules
from inbound.states import ActionKind
from tests.unit.rules.conftest import EXAMPLES, WriteRules

SERVICE = {"id": "council", "name": "Council", "region": "GB", "numbers": ["+447700900123"]}


def rules(*rule_list: dict[str, Any], **service: Any) -> ServiceRules:
    return ServiceRules.model_validate(
        {"service": {**SERVICE, **service}, "rules": list(rule_list)}
    )


# -- which language: pure tables ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword_language", "default", "expected"),
    [
        ("cy", "en", "cy"),  # a Welsh keyword matched: the person wrote Welsh
        ("en", "cy", "en"),
        ("en", "en", "en"),
        (None, "en", "en"),  # a plain list, or no keyword at all: the service's language
        (None, "cy", "cy"),
    ],
)
def test_the_person_wrote_in_the_matched_keywords_language_else_the_services(
    keyword_language: str | None, default: str, expected: str
) -> None:
    assert written_in(keyword_language, default) == expected


@pytest.mark.parametrize(
    ("written", "available", "default", "expected"),
    [
        ("cy", ["en", "cy"], "en", "cy"),  # the reply has the person's language
        ("en", ["en", "cy"], "en", "en"),
        ("cy", ["en"], "en", "en"),  # it hasn't: the service's language
        ("ga", ["en", "cy"], "cy", "cy"),
        ("ga", ["en", "cy"], "fr", "en"),  # neither (not a loadable file): the first given
        ("cy", [], "en", None),
    ],
)
def test_the_reply_goes_in_the_persons_language_when_the_rule_has_one(
    written: str, available: list[str], default: str, expected: str | None
) -> None:
    assert reply_language(written, available, default) == expected


# -- the rule-file model -----------------------------------------------------------------------


def test_a_plain_list_and_reply_read_and_write_exactly_as_before() -> None:
    rule = Rule.model_validate(
        {"name": "c", "keywords": ["yes", 1], "action": "confirm", "reply": "Thanks"}
    )
    assert rule.keywords == ["yes", "1"]
    assert rule.keywords.languages == (None, None)
    assert rule.model_dump(mode="json")["keywords"] == ["yes", "1"]
    assert rule.reply_for("cy", "en") == ("Thanks", "en")


def test_keywords_and_replies_per_language_keep_their_languages_and_form() -> None:
    raw = {
        "name": "c",
        "keywords": {"en": ["cancel"], "cy": ["canslo", "na"]},
        "action": "cancel",
        "reply": {"en": "Cancelled", "cy": "Wedi canslo"},
    }
    rule = Rule.model_validate(raw)
    assert rule.keywords == ["cancel", "canslo", "na"]
    assert rule.keywords.languages == ("en", "cy", "cy")
    assert rule.model_dump(mode="json")["keywords"] == raw["keywords"]
    assert Rule.model_validate(rule.model_dump()).keywords.languages == ("en", "cy", "cy")
    assert rule.model_copy().keywords.languages == ("en", "cy", "cy")
    assert rule.reply_for("cy", "en") == ("Wedi canslo", "cy")
    assert rule.reply_for("ga", "en") == ("Cancelled", "en")


@pytest.mark.parametrize(
    ("rule", "service", "problem"),
    [
        ({"keywords": {"EN": ["yes"]}}, {}, "'EN' is not a language code"),
        ({"keywords": {"en": []}}, {}, "at least 1 item"),
        ({"keywords": {}}, {}, "at least 1 item"),
        ({"reply": {"cy": "Diolch"}}, {}, "no reply in the service's language (en)"),
        ({"reply": {"en": "Thanks"}}, {"language": "cy"}, "no reply in the service's language"),
        ({"reply": {"en": "{reference}"}}, {}, "never captures"),
        ({}, {"language": "Welsh"}, "'Welsh' is not a language code"),
    ],
)
def test_language_mistakes_are_refused(
    rule: dict[str, Any], service: dict[str, Any], problem: str
) -> None:
    written = {"name": "c", "keywords": ["yes"], "action": "confirm", **rule}
    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        rules(written, **service)


def test_a_services_language_is_english_unless_it_says() -> None:
    assert rules({"name": "c", "keywords": ["yes"], "action": "confirm"}).service.language == "en"


# -- the decision records the language; the reply is in it -------------------------------------

BILINGUAL = rules(
    {
        "name": "confirm",
        "keywords": {"en": ["yes"], "cy": ["ie", "ydw"]},
        "action": "confirm",
        "reply": {"en": "Confirmed", "cy": "Wedi cadarnhau"},
    },
    {
        "name": "cancel",
        "keywords": {"en": ["cancel"], "cy": ["canslo"]},
        "action": "cancel",
        "reply": "Cancelled",  # one plain reply: in the service's language for everyone
    },
    {"name": "stop", "keywords": {"cy": ["stopio"]}, "action": "opt_out", "reply": {"en": "Bye"}},
    {"name": "talk", "keywords": {"cy": ["newid"]}, "match": "first", "action": "manual"},
)


@pytest.mark.parametrize(
    ("text", "action", "language", "reply", "reply_language"),
    [
        ("yes", "confirm", "en", "Confirmed", "en"),
        ("Ydw", "confirm", "cy", "Wedi cadarnhau", "cy"),
        ("ie!", "confirm", "cy", "Wedi cadarnhau", "cy"),
        ("canslo", "cancel", "cy", "Cancelled", "en"),  # no Welsh reply: the default's
        ("stopio", "opt_out", "cy", "Bye", "en"),
        ("STOP", "opt_out", "en", None, None),  # the carrier's word: the service's language
        ("newid i ddydd Iau", "manual", "cy", None, None),
        ("Ydw?", None, "cy", None, None),  # doubt: still the language the keyword was in
        ("bore da", None, "en", None, None),  # nothing matched: the service's language
    ],
)
def test_the_decision_records_the_persons_language_and_the_reply_is_in_it(
    text: str,
    action: str | None,
    language: str,
    reply: str | None,
    reply_language: str | None,
) -> None:
    decision = Matcher(BILINGUAL).decide(text)
    assert (decision.action, decision.language) == (action, language), decision.reason
    assert (decision.reply, decision.reply_language) == (reply, reply_language)


# -- typo tolerance stays conservative in every language ---------------------------------------

TYPO_RULES: list[dict[str, Any]] = [
    {"name": "help", "keywords": {"en": ["help"], "cy": ["cymorth"]}, "action": "help"},
    {"name": "ok", "keywords": {"en": ["yes"], "cy": ["iawn"]}, "action": "confirm"},
    {"name": "cancel", "keywords": {"en": ["cancel"], "cy": ["canslo"]}, "action": "cancel"},
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("helo", None),  # Welsh for hello, one letter from the English keyword "help"
        ("hepl", None),  # a real typo of "help", but four letters is too short to tell
        ("lawn", None),  # an English word one letter from the Welsh keyword "iawn"
        ("yawn", None),
        ("iaw", None),
        ("cancle", "cancel"),  # long keywords keep their typo tolerance, in each language
        ("canclo", "cancel"),
        ("cansloo", "cancel"),
        ("cymroth", "help"),
        ("cymorth", "help"),
        ("iawn", "confirm"),  # exact matches are untouched
    ],
)
def test_no_typo_match_between_short_words_of_two_languages(
    typed: str, expected: str | None
) -> None:
    decision = Matcher(rules(*TYPO_RULES)).decide(typed)
    assert decision.action == expected, decision.reason


@pytest.mark.parametrize(("typed", "expected"), [("hepl", "help"), ("lawn", "confirm")])
def test_the_same_words_in_one_language_keep_their_four_letter_typo_tolerance(
    typed: str, expected: str
) -> None:
    one_language = [
        {**rule, "keywords": [word for words in rule["keywords"].values() for word in words]}
        for rule in TYPO_RULES
    ]
    assert Matcher(rules(*one_language)).decide(typed).action == expected


# -- the bilingual example ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bins() -> ServiceRules:
    return load_directory(EXAMPLES).services["bins"]


def test_the_bilingual_example_loads_with_the_others_in_english_and_welsh(
    bins: ServiceRules,
) -> None:
    assert len(load_directory(EXAMPLES).services) >= 5
    assert bins.service.language == "en"
    assert bins.languages() == frozenset({"en", "cy"})
    for rule in bins.rules:
        if rule.reply is not None:
            assert rule.reply_languages() == frozenset({"en", "cy"}), rule.name


@pytest.mark.parametrize(
    ("text", "action", "language", "reply_starts"),
    [
        ("Ydw diolch", "confirm", "cy", "Diolch. Mae eich casgliad"),
        ("Ie", "confirm", "cy", "Diolch. Mae eich casgliad"),
        ("Yes please", "confirm", "en", "Thank you."),
        ("Nag ydw", "cancel", "cy", "Mae eich casgliad â chymorth wedi'i ganslo"),
        ("canslo", "cancel", "cy", "Mae eich casgliad â chymorth wedi'i ganslo"),
        ("cancel", "cancel", "en", "Your assisted collection has been cancelled"),
        ("Cymorth", "help", "cy", "Tîm gwastraff"),
        ("help", "help", "en", "Example County Council waste team"),
        ("Stopio", "opt_out", "cy", "Ni fyddwch yn cael rhagor"),
        ("STOP", "opt_out", "en", "You will get no more texts"),
    ],
)
def test_the_examples_replies_are_in_the_language_written(
    bins: ServiceRules, text: str, action: str, language: str, reply_starts: str
) -> None:
    decision = Matcher(bins).decide(text)
    assert (decision.action, decision.language) == (action, language), decision.reason
    assert decision.reply is not None
    assert decision.reply.startswith(reply_starts)


# -- the reply the outbox records --------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    id: int = 7
    sender: str = "+447700900123"
    provider: str = "twilio"
    provider_message_id: str = "SM7"
    received_at: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "text", "recorded"),
    [
        ("cy", "Diolch. Mae eich casgliad â chymorth wedi'i gadarnhau.", "cy"),
        ("en", "Thank you. Your assisted collection is confirmed.", "en"),
        (None, "Thank you. Your assisted collection is confirmed.", "en"),
        ("ga", "Thank you. Your assisted collection is confirmed.", "en"),
    ],
)
def test_the_outbox_reply_is_in_the_decisions_language_and_says_which(
    bins: ServiceRules, language: str | None, text: str, recorded: str
) -> None:
    effects = plan_effects(
        service=bins,
        message=Stored(),
        action="confirm",
        captures={},
        rule=next(rule for rule in bins.rules if rule.name == "confirm"),
        policy=EffectPolicy(),
        history=SenderHistory(opted_out=False, replies_last_hour=0),
        now=Stored.received_at,
        language=language,
    )
    (reply,) = [action for action in effects.actions if action.kind is ActionKind.REPLY]
    assert reply.payload == {"text": text, "language": recorded}


# -- `rules test` shows the language -----------------------------------------------------------

ONE_WELSH_REPLY_MISSING = """
service: {id: council, name: Council, region: GB, numbers: ["+447700900123"]}
rules:
  - name: cancel
    keywords: {en: [cancel], cy: [canslo]}
    action: cancel
    reply: Cancelled.
"""


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Ydw diolch", "language  cy (the keyword matched)"),
        ("yes", "language  en (the keyword matched)"),
        ("STOP", "language  en (the keyword matched)"),
        ("bore da", "language  en (no keyword to tell: the service's language)"),
    ],
)
def test_rules_test_shows_the_language_matched(
    capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    assert main(["rules", "test", str(EXAMPLES / "bins-bilingual.yaml"), "--text", text]) == 0
    assert line in capsys.readouterr().out.splitlines()


def test_rules_test_says_when_the_reply_is_not_in_the_persons_language(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules("council.yaml", ONE_WELSH_REPLY_MISSING)
    assert main(["rules", "test", str(path), "--text", "canslo"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "language  cy (the keyword matched); reply in en, as the rule has none in cy" in out
    assert "reply     Cancelled." in out


def test_rules_test_shows_no_language_for_a_service_in_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["rules", "test", str(EXAMPLES / "appointments.yaml"), "--text", "yes"]) == 0
    assert not any(line.startswith("language") for line in capsys.readouterr().out.splitlines())


def test_rules_test_json_gives_the_language_and_the_reply_in_it(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    example = str(EXAMPLES / "bins-bilingual.yaml")
    assert main(["rules", "test", example, "--text", "Ydw diolch", "--json"]) == 0
    welsh = json.loads(capsys.readouterr().out)
    assert (welsh["language"], welsh["reply_language"]) == ("cy", "cy")
    assert welsh["reply"].startswith("Diolch")
    path = write_rules("council.yaml", ONE_WELSH_REPLY_MISSING)
    assert main(["rules", "test", str(path), "--text", "canslo", "--json"]) == 0
    missing = json.loads(capsys.readouterr().out)
    assert (missing["language"], missing["reply_language"], missing["reply"]) == (
        "cy",
        "en",
        "Cancelled.",
    )


def test_a_language_is_named_in_english_with_its_code_and_an_unknown_one_by_its_code() -> None:
    assert language_name("cy") == "Welsh (cy)"
    assert language_name("xx") == "xx"
