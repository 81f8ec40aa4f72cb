"""Suggestion mining: which caseworkers' decisions become suggested keywords, and which never do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from inbound.rules.load import load_file
from inbound.rules.match import Matcher
from inbound.rules.model import Action, ServiceRules
from inbound.rules.suggestions import (
    DISMISSED,
    CaseworkerDecision,
    Impact,
    _Replay,
    as_json,
    impact,
    suggest,
    with_keyword,
)

CORPUS = Path(__file__).with_name("corpus.yaml")
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def decided(*ways: tuple[str, str, int]) -> list[CaseworkerDecision]:
    """Decisions from (text, decision, how many times), message ids in order."""
    made: list[CaseworkerDecision] = []
    for text, decision, times in ways:
        for _ in range(times):
            number = len(made) + 1
            when = START + timedelta(hours=number)
            made.append(CaseworkerDecision(number, 100 + number, text, decision, 7, when))
    return made


# (what caseworkers decided, the suggestions expected as (text, action, decisions))
TABLE = [
    pytest.param(
        [("Please stop texting me", "opt_out", 3)],
        [("please stop texting me", "opt_out", 3)],
        id="three-the-same-way",
    ),
    pytest.param(
        [("Please stop texting me", "opt_out", 2)],
        [],
        id="two-is-not-enough",
    ),
    pytest.param(
        [
            ("Please stop texting me!", "opt_out", 1),
            ("please STOP texting me", "opt_out", 1),
            ("Please, stop texting me.", "opt_out", 1),
        ],
        [("please stop texting me", "opt_out", 3)],
        id="grouped-by-normalised-text",
    ),
    pytest.param(
        [("Maybe", "confirm", 4), ("maybe", "cancel", 1)],
        [],
        id="went-two-ways",
    ),
    pytest.param(
        [("Sorry", "cancel", 5), ("sorry", DISMISSED, 1)],
        [],
        id="also-dismissed",
    ),
    pytest.param(
        [("Thanks", DISMISSED, 6)],
        [],
        id="only-dismissed",
    ),
    pytest.param(
        [
            ("Ydw", "confirm", 3),
            ("Maybe", "confirm", 3),
            ("maybe", "cancel", 3),
            ("Oui", "confirm", 4),
        ],
        [("oui", "confirm", 4), ("ydw", "confirm", 3)],
        id="several-texts-several-ways",
    ),
    pytest.param(
        [("Yes", "confirm", 5)],
        [],
        id="rules-already-do-it",
    ),
    pytest.param(
        [("Yes?", "confirm", 5)],
        [],
        id="normalised-text-already-handled",
    ),
    pytest.param(
        # The "change" rule (match: first) hands every rebooking to a person: a keyword for
        # change beside it is two rules with different actions, which the matcher doubts.
        [("Change to Tuesday", "change", 3)],
        [],
        id="matcher-would-still-hand-it-over",
    ),
    pytest.param(
        [("Please call me", "manual", 3), ("Help me", "help", 3)],
        [],
        id="actions-never-learnt",
    ),
    pytest.param(
        [("Rebook me", "unknown-action", 3)],
        [],
        id="decision-no-longer-an-action",
    ),
    pytest.param(
        [("😀", "confirm", 3)],
        [("😀", "confirm", 3)],
        id="emoji-only-reply",
    ),
    pytest.param(
        [("?!", "confirm", 3)],
        [],
        id="nothing-to-match",
    ),
]


@pytest.mark.parametrize(("ways", "expected"), TABLE)
def test_suggestions_from_decisions(
    example_rules: ServiceRules,
    ways: list[tuple[str, str, int]],
    expected: list[tuple[str, str, int]],
) -> None:
    found = suggest(example_rules, decided(*ways), replies=[])
    assert [(one.text, one.action.value, one.decisions) for one in found] == expected


def test_minimum_is_a_setting(example_rules: ServiceRules) -> None:
    ways = decided(("Ydw", "confirm", 2))
    assert [one.text for one in suggest(example_rules, ways, [], minimum=2)] == ["ydw"]
    assert suggest(example_rules, ways, [], minimum=3) == []
    with pytest.raises(ValueError, match="at least 1"):
        suggest(example_rules, ways, [], minimum=0)


def test_purged_replies_teach_nothing(example_rules: ServiceRules) -> None:
    ways = [CaseworkerDecision(n, n, None, "confirm", 1, START) for n in range(5)]
    assert suggest(example_rules, ways, []) == []


def test_a_suggestion_names_its_messages_oldest_first(example_rules: ServiceRules) -> None:
    ways = [
        CaseworkerDecision(30, 3, "Ydw", "confirm", 1, START + timedelta(days=2)),
        CaseworkerDecision(10, 1, "ydw", "confirm", 2, START),
        CaseworkerDecision(20, 2, "YDW!", "confirm", 1, START + timedelta(days=1)),
    ]
    (one,) = suggest(example_rules, ways, [])
    assert one.message_ids == (10, 20, 30)
    assert one.item_ids == (1, 2, 3)
    assert as_json(one) == {
        "text": "ydw",
        "action": "confirm",
        "rule": "confirm",
        "decisions": {"count": 3, "messages": [10, 20, 30], "items": [1, 2, 3]},
        "impact": {"replayed": 0, "newly_automatic": 0, "changed": 0},
    }
    assert one.rule == "confirm"  # joins the confirm rule, so its reply is sent


def test_impact_counts_review_items_now_handled(example_rules: ServiceRules) -> None:
    stored = ["Ydw", "ydw!", "Yes", "Maybe", None, "Ydw?"]
    (one,) = suggest(example_rules, decided(("Ydw", "confirm", 3)), stored)
    # "Ydw?" is a question and stays with a person; the purged reply is not replayed.
    assert one.impact == Impact(replayed=5, newly_automatic=2, changed=0)


@pytest.mark.parametrize(
    ("taught", "stored", "changes"),
    [
        # "cancle" is read as "cancel" today; beside a confirm keyword "candle" it is one typo
        # from both, so it would go to a person instead.
        pytest.param("Candle", ["cancle", "Candle"], "cancle: cancel → review", id="to-review"),
        # "cancels" is cancelled today (one typo); as a confirm keyword it would confirm.
        pytest.param("Cancels", ["Cancels"], "cancels: cancel → confirm", id="other-action"),
    ],
)
def test_a_keyword_that_would_change_an_automatic_outcome_is_never_suggested(
    example_rules: ServiceRules, taught: str, stored: list[str], changes: str
) -> None:
    ways = decided((taught, "confirm", 3))
    assert suggest(example_rules, ways, stored) == [], changes
    changed, _ = with_keyword(example_rules, taught.lower(), Action.confirm)
    assert impact(Matcher(example_rules), Matcher(changed), stored).changed == 1
    # Without those replies in the window, the same decisions are suggested.
    assert [one.text for one in suggest(example_rules, ways, ["Maybe"])] == [taught.lower()]


def test_an_action_without_a_plain_rule_gets_a_rule_of_its_own(
    example_rules: ServiceRules,
) -> None:
    (one,) = suggest(example_rules, decided(("Please stop texting me", "opt_out", 3)), [])
    assert one.rule == "stop"
    (other,) = suggest(example_rules, decided(("Rebooked by phone", "change", 3)), [])
    assert other.rule is None
    changed, joined = with_keyword(example_rules, "rebooked by phone", Action.change)
    assert joined is None
    assert changed.rules[-1].name == "suggested change"
    assert Matcher(changed).decide("Rebooked by phone").action is Action.change
    assert len(example_rules.rules) == len(changed.rules) - 1  # the rules given are unchanged


CORPUS_TEXTS = [
    text
    for groups in yaml.safe_load(CORPUS.read_text(encoding="utf-8")).values()
    for texts in groups.values()
    for text in texts
]


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("candle", Action.confirm),
        ("cancels", Action.confirm),
        ("please stop texting me", Action.opt_out),
        ("yes thanks john", Action.confirm),
        ("dont cancel", Action.confirm),
        ("rebooked", Action.change),
        ("report it", Action.cancel),
        ("😀", Action.confirm),
    ],
)
def test_replaying_only_the_replies_near_a_keyword_counts_as_replaying_them_all(
    example_rules: ServiceRules, keyword: str, action: Action
) -> None:
    """The shortcut that makes mining quick over a month of replies changes no figure."""
    stored = [*CORPUS_TEXTS, "cancle", "candel", "Cancels", "please stop texting me!"]
    changed, _ = with_keyword(example_rules, keyword, action)
    before, after = Matcher(example_rules), Matcher(changed)
    everything = impact(before, after, stored)
    assert _Replay(before, stored).impact(after, keyword) == everything


def test_a_rule_with_keywords_by_language_gets_no_keyword_joined() -> None:
    """Which language a learnt reply is in is unknown, so it becomes a rule of its own."""
    bilingual = load_file(Path(__file__).parents[3] / "rules" / "examples" / "bins-bilingual.yaml")
    (one,) = suggest(bilingual, decided(("Iawn diolch", "confirm", 3)), ["Iawn diolch"])
    assert (one.text, one.rule) == ("iawn diolch", None)
    assert one.impact == Impact(replayed=1, newly_automatic=1, changed=0)
