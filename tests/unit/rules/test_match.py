"""Matching replies against rules: act only when a person reading the text would agree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.rules.load import load_directory
from inbound.rules.match import Decision, Matcher, decide
from inbound.rules.model import Action, Rule, Service, ServiceRules
from tests.unit.rules.conftest import EXAMPLES

NEEDS_DETAILS = "rule 'report' needs details after the keyword"
OPT_OUT = "possible opt-out request in a longer message"
TO_A_PERSON = "rule 'change' hands this to a person"


@pytest.mark.parametrize(
    ("text", "action", "rule", "reason"),
    [
        # Confirmations, however they are dressed.
        ("YES", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("yes", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("yes!", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Yes.", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Yes 👍", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("  ok. ", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("OK", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Okay!", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("y", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Yes please", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("yes, please", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Yes   please!", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Yeah", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Yep 😊", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Confirmed", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("CONFIRM", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("“Yes”", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("ＹＥＳ", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("I will be there", Action.confirm, "confirm", "matched rule 'confirm'"),
        # Cancellations.
        ("cancel", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("CANCEL", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("No", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("no.", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("No thanks", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("Cancelled", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("Can't make it", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("cant make it", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("Can’t make it!", Action.cancel, "cancel", "matched rule 'cancel'"),
        # Opt-out.
        ("STOP", Action.opt_out, "stop", "carrier opt-out word STOP (region GB)"),
        ("Stop.", Action.opt_out, "stop", "carrier opt-out word STOP (region GB)"),
        ("Stop please", Action.opt_out, "stop", "matched rule 'stop'"),
        # Greetings, thanks, drawn-out letters, one typo in a long keyword, and a 👍 synonym.
        ("Hi, yes thanks", Action.confirm, "confirm", "matched rule 'confirm'"),
        (
            "Good morning! Cancel please, thank you x",
            Action.cancel,
            "cancel",
            "matched rule 'cancel'",
        ),
        ("yesss", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("Nooo", Action.cancel, "cancel", "matched rule 'cancel'"),
        ("👍", Action.confirm, "confirm", "matched rule 'confirm'"),
        ("👍🏽👍", Action.confirm, "confirm", "matched rule 'confirm'"),
        (
            "comfirm",
            Action.confirm,
            "confirm",
            "matched rule 'confirm', reading one typo as keyword 'confirm'",
        ),
        (
            "cancle",
            Action.cancel,
            "cancel",
            "matched rule 'cancel', reading one typo as keyword 'cancel'",
        ),
        # Change requests: always a person.
        ("change", Action.manual, "change", TO_A_PERSON),
        ("Change to Tuesday please", Action.manual, "change", TO_A_PERSON),
        ("Can I reschedule?", None, "change", "a question about keyword 'reschedule'"),
        ("Reschedule: next week", Action.manual, "change", TO_A_PERSON),
        ("MOVE to 3pm", Action.manual, "change", TO_A_PERSON),
        # Reports need something to report.
        (
            "REPORT broken streetlight on Mill Lane",
            Action.report,
            "report",
            "matched rule 'report'",
        ),
        ("report: pothole outside no. 4", Action.report, "report", "matched rule 'report'"),
        ("report", None, "report", NEEDS_DETAILS),
        ("Report!", None, "report", NEEDS_DETAILS),
        ("report - ", None, "report", NEEDS_DETAILS),
        # Anything a person would hesitate over goes to a person.
        ("Yes but can I change the time?", None, None, "a question about keyword 'yes'"),
        (
            "yes but I need to change the time",
            None,
            None,
            "matched confirm and manual (rules 'confirm' and 'change')",
        ),
        ("yes no", None, None, "matched confirm and cancel (rules 'confirm' and 'cancel')"),
        ("Yes and no", None, None, "matched confirm and cancel (rules 'confirm' and 'cancel')"),
        ("not yes", None, "confirm", "negation 'not' with keyword 'yes'"),
        ("Can't make it?", None, "cancel", "a question, not an answer (rule 'cancel')"),
        ("yes?", None, "confirm", "a question, not an answer (rule 'confirm')"),
        ("yes I will see the nurse", None, "confirm", "extra text after keyword 'yes'"),
        ("I said yes to my wife", None, "confirm", "extra text around keyword 'yes'"),
        # One typo is never allowed in short keywords, and a real word is never a typo.
        ("yrs", None, None, "no rule matched"),
        ("shop", None, None, "no rule matched"),
        ("conform", None, None, "no rule matched"),
        ("not sure", None, None, "no rule matched"),
        ("Who is this?", None, None, "no rule matched"),
        (
            "stop sending me these",
            None,
            "stop",
            "possible opt-out request in a longer message; extra text after keyword 'stop'",
        ),
        ("Please stop texting me", None, "stop", OPT_OUT + "; extra text after keyword 'stop'"),
        ("unsubscribe me", None, None, OPT_OUT),
        ("reporting a problem", None, None, "no rule matched"),
        ("Ydw", None, None, "no rule matched"),
        ("Ie, diolch", None, None, "no rule matched"),
        ("نعم", None, None, "no rule matched"),
        ("لا", None, None, "no rule matched"),
        ("👎", None, None, "no words to match, only punctuation, symbols or emoji"),
        ("?!", None, None, "no words to match, only punctuation, symbols or emoji"),
        ("", None, None, "empty message"),
        ("   \n", None, None, "empty message"),
    ],
)
def test_example_replies(
    example_matcher: Matcher, text: str, action: Action | None, rule: str | None, reason: str
) -> None:
    decision = example_matcher.decide(text)
    assert (decision.action, decision.rule, decision.reason) == (action, rule, reason)
    assert decision.automatic == (action not in {None, Action.manual})


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("REPORT broken streetlight on Mill Lane", "broken streetlight on Mill Lane"),
        ("report: pothole outside no. 4", "pothole outside no. 4"),
        ("Report - Bin not collected!", "Bin not collected!"),
        ("report,  fly-tipping  ", "fly-tipping"),
        ("  Réport:\n\tleak at #12 (kitchen)", "leak at #12 (kitchen)"),
        ("REPORT 👉 graffiti", "👉 graffiti"),
    ],
)
def test_report_details_keep_the_original_text(
    example_matcher: Matcher, text: str, details: str
) -> None:
    decision = example_matcher.decide(text)
    assert decision.action is Action.report
    assert dict(decision.captures) == {"details": details}


def test_change_request_keeps_its_details_for_the_person(example_matcher: Matcher) -> None:
    decision = example_matcher.decide("Rearrange to Friday am?")
    assert dict(decision.captures) == {"details": "to Friday am?"}
    assert not decision.automatic


def rules(*specs: dict[str, Any]) -> ServiceRules:
    """A service with the given rules, in order."""
    service = Service(id="test", name="Test", region="GB", numbers=["+447700900111"])
    return ServiceRules(service=service, rules=[Rule(**spec) for spec in specs])


def test_rules_that_disagree_go_to_a_person() -> None:
    both = rules(
        {"name": "yes", "keywords": ["ok"], "action": "confirm"},
        {"name": "help", "keywords": ["ok"], "action": "help"},
    )
    decision = decide(both, "OK")
    assert decision == Decision(None, None, {}, "matched confirm and help (rules 'yes' and 'help')")


def test_first_and_only_rules_that_disagree_go_to_a_person() -> None:
    both = rules(
        {"name": "book", "keywords": ["book"], "match": "first", "action": "register"},
        {"name": "stop", "keywords": ["book stop"], "action": "opt_out"},
    )
    assert decide(both, "book stop").reason == (
        "possible opt-out request in a longer message; "
        "matched register and opt_out (rules 'book' and 'stop')"
    )


def test_rules_that_agree_use_the_first_in_the_file() -> None:
    agree = rules(
        {"name": "short", "keywords": ["yes"], "action": "confirm"},
        {"name": "long", "keywords": ["yes"], "match": "first", "action": "confirm"},
    )
    assert decide(agree, "yes").rule == "short"


def test_longest_keyword_of_a_rule_sets_the_details() -> None:
    book = rules(
        {
            "name": "book",
            "keywords": ["book", "book a"],
            "match": "first",
            "action": "register",
        },
    )
    assert dict(decide(book, "Book a table").captures) == {"details": "table"}


def test_multi_word_first_keyword_needs_every_word() -> None:
    lost = rules(
        {"name": "lost", "keywords": ["lost card"], "match": "first", "action": "report"},
    )
    assert decide(lost, "lost card on the bus").captures == {"details": "on the bus"}
    assert decide(lost, "lost cardigan").reason == "no rule matched"


def test_ligature_and_accent_keywords_find_their_details() -> None:
    cafe = rules({"name": "cafe", "keywords": ["café"], "match": "first", "action": "feedback"})
    assert decide(cafe, "CAFE\u0301: lovely").captures == {"details": "lovely"}


def test_decision_explains_itself_for_every_outcome(example_matcher: Matcher) -> None:
    for text in ["yes", "change it", "report", "maybe", "", "🎉"]:
        assert example_matcher.decide(text).reason


@given(st.text())
def test_decide_never_raises(example_matcher: Matcher, text: str) -> None:
    decision = example_matcher.decide(text)
    assert decision.reason
    assert decision.automatic == (decision.action not in {None, Action.manual})


REPLY_WORDS = st.sampled_from(
    ["yes", "Yes please", "no", "OK", "stop", "report", "change", "café", "Straße", "ß", "ı"]
)
REPLIES = st.one_of(
    st.text(),
    st.lists(st.one_of(REPLY_WORDS, st.text(max_size=3)), max_size=5).map(" ".join),
)
PADDING = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=4)


@given(REPLIES, PADDING, PADDING)
def test_case_and_surrounding_space_do_not_change_the_decision(
    example_matcher: Matcher, text: str, before: str, after: str
) -> None:
    decision = example_matcher.decide(text)
    for variant in [text.upper(), text.lower(), before + text + after]:
        other = example_matcher.decide(variant)
        assert (other.action, other.rule, other.reason) == (
            decision.action,
            decision.rule,
            decision.reason,
        )
    padded = example_matcher.decide(before + text + after)
    assert padded.captures == decision.captures


EXAMPLE_MATCHERS = st.sampled_from(
    [Matcher(rules) for rules in load_directory(EXAMPLES).services.values()]
)
ANY_REPLY = st.one_of(
    REPLIES,
    st.lists(
        st.sampled_from(
            ["join", "rate", "5", "4/5", "⭐", "pothole", "status", "MB123456", "?", "not", "👍"]
        ),
        max_size=5,
    ).map(" ".join),
)


@settings(max_examples=300)
@given(EXAMPLE_MATCHERS, ANY_REPLY, PADDING, PADDING)
def test_every_example_service_never_raises_and_ignores_case_and_space(
    matcher: Matcher, text: str, before: str, after: str
) -> None:
    decision = matcher.decide(text)
    assert decision.reason
    for variant in [text.upper(), text.lower(), before + text + after]:
        other = matcher.decide(variant)
        assert (other.action, other.rule, other.reason, other.flags) == (
            decision.action,
            decision.rule,
            decision.reason,
            decision.flags,
        )
