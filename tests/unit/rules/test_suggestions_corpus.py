"""The effect of learning from the review queue on the corpus (bench/suggestions.py): accepted
suggestions cut the share sent to review and every automatic action stays right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from inbound.rules.suggestions import key

ROOT = Path(__file__).parents[3]
CORPUS = ROOT / "tests" / "unit" / "rules" / "corpus.yaml"
DECISIONS = ROOT / "tests" / "unit" / "rules" / "corpus_decisions.yaml"
ACTIONS = {
    "confirm", "cancel", "change", "report", "register", "follow_up", "feedback", "opt_out",
    "opt_in", "dismissed",
}  # fmt: skip


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """The bench script's report, run as a person runs it."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "suggestions.py"), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_accepted_suggestions_cut_the_review_share_at_full_precision(
    report: dict[str, Any],
) -> None:
    total = report["total"]
    assert total["suggestions"] > 0
    for window in ("next_month", "corpus"):
        before, after = total[f"{window}_before"], total[f"{window}_after"]
        assert after["precision"] == before["precision"] == 1.0, window
        assert after["review_share"] < before["review_share"], window
        assert after["automatic"] > before["automatic"], window


def test_no_suggestion_for_a_reply_people_decide_in_several_ways(report: dict[str, Any]) -> None:
    decided = yaml.safe_load(DECISIONS.read_text(encoding="utf-8"))
    several = {
        (service, key(text))
        for service, texts in decided.items()
        for text, people in texts.items()
        if isinstance(people, list)
    }
    suggested = {
        (service, one["text"])
        for service, figures in report["services"].items()
        for one in figures["suggestions"]
    }
    assert suggested
    assert not suggested & several
    counts = [one["decisions"] for s in report["services"].values() for one in s["suggestions"]]
    assert min(counts) >= report["minimum"]


def test_the_decisions_table_lists_only_review_replies_of_the_corpus() -> None:
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    decided = yaml.safe_load(DECISIONS.read_text(encoding="utf-8"))
    for service, texts in decided.items():
        assert set(texts) <= set(corpus[service]["review"]), service
        for people in texts.values():
            assert set(people if isinstance(people, list) else [people]) <= ACTIONS
