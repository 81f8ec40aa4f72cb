"""The example rules against a corpus of realistic replies: never a wrong automatic action.

Every reply in `corpus.yaml` is checked against the decision a person would want. The last test
measures the whole corpus: precision of automatic actions (must be 100%) and the share of
replies handled automatically; both are printed in the test summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from inbound.rules.load import load_directory
from inbound.rules.match import Decision, Matcher
from tests.unit.rules.conftest import EXAMPLES, CorpusFigures

CORPUS = Path(__file__).with_name("corpus.yaml")
REVIEW = "review"


@dataclass(frozen=True)
class Case:
    service: str
    text: str
    expected: str  # an action, or "review"


def load_corpus() -> list[Case]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return [
        Case(service, text, expected)
        for service, groups in data.items()
        for expected, texts in groups.items()
        for text in texts
    ]


CASES = load_corpus()
MATCHERS = {
    service_id: Matcher(rules) for service_id, rules in load_directory(EXAMPLES).services.items()
}


def outcome(decision: Decision) -> str:
    return str(decision.action) if decision.automatic else REVIEW


def test_corpus_is_large_and_covers_every_example_service() -> None:
    assert len(CASES) >= 300
    assert {case.service for case in CASES} == set(MATCHERS)
    assert len({(case.service, case.text) for case in CASES}) == len(CASES), "duplicate reply"


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{case.service}:{case.text[:40]!r}" for case in CASES]
)
def test_reply_gets_the_decision_a_person_would_make(case: Case) -> None:
    decision = MATCHERS[case.service].decide(case.text)
    assert outcome(decision) == case.expected, decision.reason
    assert decision.reason


def test_automatic_actions_are_always_right(corpus_figures: CorpusFigures) -> None:
    automatic = correct = expected_automatic = 0
    for case in CASES:
        got = outcome(MATCHERS[case.service].decide(case.text))
        expected_automatic += case.expected != REVIEW
        if got != REVIEW:
            automatic += 1
            correct += got == case.expected
    corpus_figures.record(len(CASES), automatic, correct, expected_automatic)
    assert correct == automatic, "an automatic action a person would read differently"
