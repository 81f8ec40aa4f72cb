"""`rules check` warnings: carrier words reused, keywords shared between rules, dead rules;
each names a reply the matcher really treats as warned."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from inbound.rules.lint import RuleWarning, lint
from inbound.rules.load import check, load_file
from inbound.rules.match import decide
from inbound.rules.model import Rule, Service, ServiceRules
from tests.unit.rules.conftest import EXAMPLES, WriteRules


def service(region: str, *specs: dict[str, Any]) -> ServiceRules:
    number = "+12025550111" if region == "US" else "+447700900111"
    return ServiceRules(
        service=Service(id="test", name="Test", region=region, numbers=[number]),
        rules=[Rule(**spec) for spec in specs],
    )


def test_examples_have_no_warnings() -> None:
    report = check(EXAMPLES)
    assert (report.errors, report.warnings) == ([], [])
    assert len(report.services) == 5


def test_carrier_opt_out_word_in_a_us_rule_is_a_warning() -> None:
    rules = service(
        "US",
        {"name": "cancel", "keywords": ["cancel appointment", "cancel"], "action": "cancel"},
    )
    [warning] = lint(rules)
    assert warning.loc == ("rules", 0, "keywords", 1)
    assert "CANCEL is a carrier opt-out word in US" in warning.problem
    assert "rule 'cancel'" in warning.problem


def test_carrier_word_is_fine_where_the_region_does_not_reserve_it() -> None:
    assert lint(service("GB", {"name": "cancel", "keywords": ["cancel"], "action": "cancel"})) == []


def test_opt_out_rule_may_reuse_carrier_words() -> None:
    stop = {"name": "stop", "keywords": ["stop", "end"], "action": "opt_out"}
    assert lint(service("US", stop)) == []


def test_same_keyword_in_rules_with_different_actions_is_a_warning() -> None:
    rules = service(
        "GB",
        {"name": "yes", "keywords": ["ok", "yes"], "action": "confirm"},
        {"name": "help", "keywords": ["help", "ok"], "action": "help"},
    )
    warnings = lint(rules)
    assert (
        RuleWarning(
            ("rules", 1, "keywords", 1),
            "keyword 'ok' also matches rule 'yes', so a reply such as 'ok' goes to a person, not "
            "to rule 'help': matched confirm and help (rules 'yes' and 'help')",
            "remove it from one of the two rules, or make the keywords distinct",
            example="ok",
            rule="help",
            decided_by=None,
        )
        in warnings
    )


def test_first_keyword_covering_an_only_keyword_is_an_overlap() -> None:
    rules = service(
        "GB",
        {"name": "cancel", "keywords": ["cancel it"], "action": "cancel"},
        {"name": "change", "keywords": ["cancel"], "match": "first", "action": "change"},
    )
    # The reply "cancel it" is both rules' and goes to a person: the warning is at the keyword
    # whose reply goes astray, and names the other rule.
    [warning] = [w for w in lint(rules) if "also matches" in w.problem]
    assert warning.loc == ("rules", 0, "keywords", 0)
    assert warning.example == "cancel it"
    assert "also matches rule 'change'" in warning.problem


def test_rule_shadowed_by_an_earlier_rule_is_unreachable() -> None:
    rules = service(
        "GB",
        {"name": "yes", "keywords": ["yes", "ok"], "action": "confirm"},
        {"name": "okay", "keywords": ["OK!"], "action": "confirm"},
    )
    problems = [warning.problem for warning in lint(rules)]
    assert any("rule 'okay' is unreachable" in problem for problem in problems)
    assert any("never picks rule 'okay'" in problem for problem in problems)


def test_rule_of_carrier_words_only_is_unreachable_in_the_us() -> None:
    rules = service(
        "US",
        {"name": "yes", "keywords": ["yes"], "action": "confirm"},
        {"name": "done", "keywords": ["end", "quit"], "action": "cancel"},
    )
    problems = [warning.problem for warning in lint(rules)]
    assert any("rule 'done' is unreachable" in problem for problem in problems)


def test_check_gives_warnings_a_file_and_line(write_rules: WriteRules) -> None:
    path = write_rules(
        "us.yaml",
        "service:\n  id: us\n  name: US\n  region: US\n  numbers: ['+12025550111']\n"
        "rules:\n  - name: cancel\n    keywords: [cancel]\n    action: cancel\n",
    )
    report = check(path)
    assert report.errors == []
    [warning] = [w for w in report.warnings if "is a carrier opt-out word" in w.problem]
    assert (warning.path, warning.line, warning.field) == (path, 8, "rules[0].keywords[0]")
    assert str(warning).startswith(f"{path}:8: rules[0].keywords[0]: CANCEL is a carrier")


# -- every warning is what the matcher does --------------------------------------------------

CANT_COME = (
    {"name": "confirm", "keywords": ["yes"], "action": "confirm"},
    {"name": "cancel", "keywords": ["cancel", "can't make it"], "action": "cancel"},
    {"name": "cant-come", "keywords": ["can't make it"], "match": "phrase", "action": "cancel"},
)


def test_phrase_rule_behind_an_only_rule_with_its_keyword_is_not_warned_about() -> None:
    # The case: `only` takes "can't make it" alone, but the phrase rule still picks
    # "Sorry I can't make it, my son is ill", so neither "never picks" nor "unreachable" holds.
    rules = service("GB", *CANT_COME)
    assert decide(rules, "Sorry I can't make it, my son is ill").rule == "cant-come"
    assert lint(rules) == []


def test_first_rule_whose_keyword_alone_is_taken_is_still_reachable() -> None:
    rules = service(
        "GB",
        {"name": "cancel", "keywords": ["cancel"], "action": "cancel"},
        {"name": "why", "keywords": ["cancel"], "match": "first", "action": "cancel"},
    )
    assert lint(rules) == []


TRICKY: dict[str, ServiceRules] = {
    "cant-come": service("GB", *CANT_COME),
    "same keyword, other action": service(
        "GB",
        {"name": "yes", "keywords": ["ok", "yes"], "action": "confirm"},
        {"name": "help", "keywords": ["help", "ok"], "action": "help"},
    ),
    "first covers only": service(
        "GB",
        {"name": "cancel", "keywords": ["cancel it"], "action": "cancel"},
        {"name": "change", "keywords": ["cancel"], "match": "first", "action": "change"},
    ),
    "shadowed": service(
        "GB",
        {"name": "yes", "keywords": ["yes", "ok"], "action": "confirm"},
        {"name": "okay", "keywords": ["OK!"], "action": "confirm"},
    ),
    "carrier words": service(
        "US",
        {"name": "yes", "keywords": ["yes"], "action": "confirm"},
        {"name": "done", "keywords": ["end", "quit", "cancel please"], "action": "cancel"},
    ),
    "phrase against only": service(
        "GB",
        {"name": "cancel", "keywords": ["cancel"], "action": "cancel"},
        {
            "name": "pothole",
            "keywords": ["cancel", "pothole"],
            "match": "phrase",
            "action": "report",
        },
    ),
    "phrase inside first": service(
        "GB",
        {"name": "report", "keywords": ["report"], "match": "first", "action": "report"},
        {"name": "lamp", "keywords": ["report lamp"], "match": "phrase", "action": "report"},
        {"name": "stop-it", "keywords": ["report it"], "action": "cancel"},
    ),
    "welsh keywords, english reply": service(
        "GB",
        {
            "name": "cancel",
            "keywords": {"en": ["cancel"], "cy": ["canslo"]},
            "action": "cancel",
            "reply": "Cancelled.",
        },
    ),
    "manual and typo": service(
        "GB",
        {"name": "confirm", "keywords": ["confirm"], "action": "confirm"},
        {"name": "person", "keywords": ["confirm"], "match": "first", "action": "manual"},
        {"name": "conform", "keywords": ["comfirm"], "action": "cancel"},
    ),
}


def _example_files() -> dict[str, ServiceRules]:
    return {path.name: load_file(path) for path in sorted(EXAMPLES.glob("*.yaml"))}


@pytest.mark.parametrize(
    "rules", [*TRICKY.values(), *_example_files().values()], ids=[*TRICKY, *_example_files()]
)
def test_every_warning_names_a_reply_the_matcher_treats_as_warned(rules: ServiceRules) -> None:
    for warning in lint(rules):
        assert warning.example, warning
        assert repr(warning.example) in warning.problem or warning.example.upper() in (
            warning.problem
        )
        decision = decide(rules, warning.example)
        acting = decision.rule if decision.automatic else None
        assert acting == warning.decided_by, (warning, decision)
        if warning.loc[-1] == "reply":  # the rule acts, but answers in another language
            assert decision.rule == warning.rule, (warning, decision)
            assert decision.reply_language != decision.language, (warning, decision)
            assert f"answered in {decision.reply_language}" in warning.problem
        else:
            assert not (decision.rule == warning.rule and decision.automatic), (warning, decision)


def test_tricky_files_give_warnings() -> None:
    # So the table above checks something: all but the case warn.
    assert [name for name, rules in TRICKY.items() if not lint(rules)] == ["cant-come"]


# Small rule files from a few words that overlap on purpose: every warning's reply must do what
# the warning says, whatever the mix of match kinds, actions and regions.
_VOCABULARY = ["yes", "ok", "cancel", "cancel it", "can't make it", "stop", "end", "report", "👍"]
_rule_specs = st.lists(
    st.tuples(
        st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=3, unique=True),
        st.sampled_from(["only", "first", "phrase"]),
        st.sampled_from(["confirm", "cancel", "report", "help", "manual", "opt_out"]),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(specs=_rule_specs, region=st.sampled_from(["GB", "US"]))
def test_generated_files_warn_only_what_the_matcher_does(
    specs: list[tuple[list[str], str, str]], region: str
) -> None:
    try:
        rules = service(
            region,
            *(
                {"name": f"r{index}", "keywords": keywords, "match": match, "action": action}
                for index, (keywords, match, action) in enumerate(specs)
            ),
        )
    except ValidationError:
        assume(False)  # a file that wouldn't load (an emoji keyword outside `only`, say)
        return
    for warning in lint(rules):
        decision = decide(rules, warning.example)
        assert (decision.rule if decision.automatic else None) == warning.decided_by, warning
        assert not (decision.rule == warning.rule and decision.automatic), warning


# -- a reply missing in a language its keywords are in ----------------------------------------


def _bilingual(reply: Any, **rule: Any) -> ServiceRules:
    spec = {"name": "cancel", "keywords": {"en": ["cancel"], "cy": ["canslo"]}, "action": "cancel"}
    return service("GB", {**spec, "reply": reply, **rule})


@pytest.mark.parametrize(
    "reply",
    ["Cancelled.", {"en": "Cancelled."}],
    ids=["a plain reply, in the service's language", "a reply per language, without cy"],
)
def test_keywords_in_welsh_with_no_welsh_reply_warn_naming_a_welsh_reply(reply: Any) -> None:
    rules = _bilingual(reply)
    [warning] = lint(rules)
    assert warning.loc == ("rules", 0, "reply")
    assert warning.example == "canslo"
    assert "rule 'cancel' has keywords in cy but no reply in cy" in warning.problem
    assert "'canslo' is answered in en" in warning.problem
    assert "reply: {en: ..., cy: ...}" in warning.fix
    # The matcher does what the warning says: the rule acts, the person wrote in Welsh, the
    # reply goes in English.
    decision = decide(rules, warning.example)
    assert (decision.rule, warning.decided_by) == ("cancel", "cancel")
    assert (decision.language, decision.reply_language) == ("cy", "en")


@pytest.mark.parametrize(
    "rule",
    [
        {"reply": {"en": "Cancelled.", "cy": "Wedi canslo."}},  # a reply in each language
        {"reply": None},  # no reply at all: nothing goes out in the wrong language
        {"keywords": ["cancel", "canslo"], "reply": "Cancelled."},  # one language, the service's
    ],
    ids=["both replies", "no reply", "plain keywords"],
)
def test_no_warning_when_every_keyword_language_has_its_reply(rule: dict[str, Any]) -> None:
    assert lint(_bilingual(**rule)) == []


def test_a_welsh_service_with_english_keywords_and_only_a_welsh_reply_warns_for_english() -> None:
    rules = ServiceRules(
        service=Service(
            id="test", name="Test", region="GB", numbers=["+447700900111"], language="cy"
        ),
        rules=[
            Rule(
                name="cancel",
                keywords={"cy": ["canslo"], "en": ["cancel"]},
                action="cancel",
                reply="Wedi canslo.",
            )
        ],
    )
    [warning] = lint(rules)
    assert warning.example == "cancel"
    assert "keywords in en but no reply in en" in warning.problem
    assert decide(rules, "cancel").reply_language == "cy"


def test_a_welsh_keyword_another_rule_takes_gives_no_reply_warning() -> None:
    # Only replies the rule itself answers can show it: 'canslo' goes to the first rule here,
    # which has a Welsh reply; the second rule's own warning is that it never picks 'canslo'.
    rules = service(
        "GB",
        {
            "name": "first",
            "keywords": {"en": ["stop it"], "cy": ["canslo"]},
            "action": "cancel",
            "reply": {"en": "Cancelled.", "cy": "Wedi canslo."},
        },
        {
            "name": "cancel",
            "keywords": {"en": ["cancel"], "cy": ["canslo"]},
            "action": "cancel",
            "reply": "Cancelled.",
        },
    )
    assert [w for w in lint(rules) if w.loc[-1] == "reply"] == []
