"""Adding a suggested keyword to the YAML: where it goes, the language asked for when there is a
choice, and every comment kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.rules.adopting import LanguageNeeded, added_banner, adopt, in_words, placement
from inbound.rules.load import check_text
from inbound.rules.match import Matcher
from inbound.rules.model import Action, ServiceRules

EXAMPLES = Path(__file__).parents[3] / "rules" / "examples"
APPOINTMENTS = (EXAMPLES / "appointments.yaml").read_text(encoding="utf-8")
BINS = (EXAMPLES / "bins-bilingual.yaml").read_text(encoding="utf-8")


def loaded(text: str) -> ServiceRules:
    report = check_text(Path("rules.yaml"), text)
    assert not report.errors, report.errors
    return report.services[0][1]


def test_a_keyword_joins_the_plain_rule_with_its_action_and_comments_stay() -> None:
    rules = loaded(APPOINTMENTS)
    where = placement(rules, "yes pls", Action.confirm)
    assert (where.rule, where.new, where.languages) == ("confirm", False, ())
    text, _ = adopt(APPOINTMENTS, rules, "yes pls", Action.confirm, None)
    assert Matcher(loaded(text)).decide("Yes pls").action is Action.confirm
    for comment in (line for line in APPOINTMENTS.splitlines() if line.lstrip().startswith("#")):
        assert comment in text
    assert in_words("yes pls", Action.confirm, where) == "Add “yes pls” to rule 'confirm' (confirm)"


def test_an_action_without_a_plain_rule_becomes_a_rule_of_its_own() -> None:
    rules = loaded(APPOINTMENTS)
    where = placement(rules, "unsubscribe me", Action.opt_in)
    assert (where.rule, where.new) == ("suggested opt_in", True)
    text, _ = adopt(APPOINTMENTS, rules, "unsubscribe me", Action.opt_in, None)
    added = loaded(text).rules[-1]
    assert (added.name, list(added.keywords), added.action) == (
        "suggested opt_in",
        ["unsubscribe me"],
        Action.opt_in,
    )
    assert "as a new rule 'suggested opt_in' (opt_in)" in in_words("x", Action.opt_in, where)


@pytest.mark.parametrize("language", ["cy", "en"])
def test_a_rule_listing_keywords_by_language_takes_the_language_chosen(language: str) -> None:
    rules = loaded(BINS)
    where = placement(rules, "iawn diolch", Action.confirm)
    assert (where.rule, where.new, where.languages) == ("confirm", False, ("en", "cy"))
    said = in_words("iawn diolch", Action.confirm, where)
    assert said.endswith("(confirm), in English (en) or Welsh (cy)")
    text, _ = adopt(BINS, rules, "iawn diolch", Action.confirm, language)
    confirm = next(rule for rule in loaded(text).rules if rule.name == "confirm")
    assert "iawn diolch" in confirm.keywords.by_language()[language]
    assert "Welsh Hunspell spelling dictionary" in text  # the comments stay


@pytest.mark.parametrize("language", [None, "fr"])
def test_no_language_is_guessed(language: str | None) -> None:
    rules = loaded(BINS)
    with pytest.raises(LanguageNeeded, match="say which language"):
        adopt(BINS, rules, "iawn diolch", Action.confirm, language)


def test_a_new_rule_in_a_service_of_two_languages_is_written_under_the_one_chosen() -> None:
    rules = loaded(BINS)
    where = placement(rules, "gwych", Action.feedback)
    assert (where.new, where.languages) == (True, ("en", "cy"))
    text, _ = adopt(BINS, rules, "gwych", Action.feedback, "cy")
    assert loaded(text).rules[-1].keywords.by_language() == {"cy": ["gwych"]}
    said = in_words("gwych", Action.feedback, where, "cy")
    assert said.endswith("(feedback), in Welsh (cy)")


def test_the_drafts_banner_names_only_a_keyword_the_rule_holds() -> None:
    rules = loaded(adopt(APPOINTMENTS, loaded(APPOINTMENTS), "yes pls", Action.confirm, None)[0])
    said = added_banner(rules, 1, "yes pls")
    assert said is not None
    assert said.startswith("“yes pls” added to rule ‘confirm’")
    assert added_banner(rules, 2, "yes pls") is None  # rule 2 is cancel
    assert added_banner(rules, 1, "you have won a prize") is None
    assert added_banner(rules, 99, "yes pls") is None
    assert added_banner(rules, None, "yes pls") is None
