"""Learning from the review queue: how far accepted suggestions cut the share sent to review.

    .venv/bin/python bench/suggestions.py [--seed 18] [--min 3] [--json]

On the example rules and the replies of tests/unit/rules/corpus.yaml: a month of traffic is
simulated (each reply of three words or fewer, or emoji, arrives 1 to 6 times, as short replies
recur word for word; a longer one 0 or 1 times, as it is personal). Every reply the rules send
to review is decided as tests/unit/rules/corpus_decisions.yaml says a person would (going round
the list when people differ; dismissed when not listed). The decisions are mined
(`inbound.rules.suggestions.suggest`), every suggestion is accepted, and a second month, drawn
the same way, is replayed with the rules before and after: the share sent to review, and the
precision of automatic actions (an automatic action is right only when a person would always
take it). The corpus itself (each reply once) is replayed too. Pure: no database, no network.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from inbound.rules.load import load_directory
from inbound.rules.match import Matcher
from inbound.rules.model import ServiceRules
from inbound.rules.normalise import normalise
from inbound.rules.suggestions import (
    DISMISSED,
    CaseworkerDecision,
    Suggestion,
    outcome,
    suggest,
    with_keyword,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "unit" / "rules" / "corpus.yaml"
DECISIONS = ROOT / "tests" / "unit" / "rules" / "corpus_decisions.yaml"
EXAMPLES = ROOT / "rules" / "examples"
REVIEW = "review"
START = datetime(2026, 11, 1, tzinfo=UTC)
MONTH = 30  # days


@dataclass(frozen=True)
class Reply:
    service: str
    text: str
    people: tuple[str, ...]  # what a person decides, in turn: an action or "dismissed"


@dataclass(frozen=True)
class Arrival:
    reply: Reply
    decision: str  # what the person deciding this one would decide
    at: datetime


def replies() -> list[Reply]:
    """Every corpus reply with what a person decides for it."""
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    decided = yaml.safe_load(DECISIONS.read_text(encoding="utf-8"))
    found = []
    for service, groups in corpus.items():
        for group, texts in groups.items():
            for text in texts:
                if group != REVIEW:
                    people: tuple[str, ...] = (group,)
                else:
                    listed = decided.get(service, {}).get(text, DISMISSED)
                    people = tuple(listed) if isinstance(listed, list) else (listed,)
                found.append(Reply(service, text, people))
    return found


def recurs(text: str) -> bool:
    """Short replies recur word for word; longer ones are personal."""
    return len(normalise(text).split()) <= 3


def month(all_replies: list[Reply], rng: random.Random, start: datetime) -> list[Arrival]:
    """A month's arrivals in time order; the person deciding each goes round `people`."""
    arrivals = []
    for reply in all_replies:
        times = rng.randint(1, 6) if recurs(reply.text) else rng.randint(0, 1)
        for turn in range(times):
            at = start + timedelta(seconds=rng.randrange(MONTH * 86_400))
            arrivals.append((at, reply, reply.people[turn % len(reply.people)]))
    arrivals.sort(key=lambda one: (one[0], one[1].service, one[1].text))
    return [Arrival(reply, decision, at) for at, reply, decision in arrivals]


@dataclass
class Counts:
    replies: int = 0
    review: int = 0
    automatic: int = 0
    right: int = 0  # automatic actions a person would always take

    def add(self, reply: Reply, got: str) -> None:
        self.replies += 1
        if got == REVIEW:
            self.review += 1
            return
        self.automatic += 1
        self.right += reply.people == (got,)

    def json(self) -> dict[str, Any]:
        return {
            "replies": self.replies,
            "review": self.review,
            "review_share": round(self.review / self.replies, 4) if self.replies else 0.0,
            "automatic": self.automatic,
            "precision": round(self.right / self.automatic, 4) if self.automatic else 1.0,
        }


def mine(
    rules: ServiceRules, arrivals: list[Arrival], minimum: int
) -> tuple[list[Suggestion], int]:
    """The suggestions from the month's decisions of one service, and how many decisions."""
    matcher = Matcher(rules)
    decisions = []
    for number, arrival in enumerate(arrivals, start=1):
        if outcome(matcher.decide(arrival.reply.text)) == REVIEW:
            decided_at = arrival.at + timedelta(hours=2)
            decisions.append(
                CaseworkerDecision(
                    number, number, arrival.reply.text, arrival.decision, 1, decided_at
                )
            )
    stored = [arrival.reply.text for arrival in arrivals]
    return suggest(rules, decisions, stored, minimum), len(decisions)


def accept(rules: ServiceRules, found: list[Suggestion]) -> ServiceRules:
    """The rules with every suggestion added, as a person would add them to a draft."""
    for one in found:
        rules, _ = with_keyword(rules, one.text, one.action)
    return rules


def simulate(seed: int = 18, minimum: int = 3) -> dict[str, Any]:
    """The whole report, as JSON-ready values."""
    rng = random.Random(seed)
    every = replies()
    first = month(every, rng, START)
    second = month(every, rng, START + timedelta(days=MONTH))
    services = load_directory(EXAMPLES).services
    report: dict[str, Any] = {"seed": seed, "minimum": minimum, "services": {}}
    totals = {
        name: Counts()
        for name in ("next_month_before", "next_month_after", "corpus_before", "corpus_after")
    }
    for service_id, rules in sorted(services.items()):
        mined, decided = mine(rules, [a for a in first if a.reply.service == service_id], minimum)
        learnt = accept(rules, mined)
        before, after = Matcher(rules), Matcher(learnt)
        counts = {name: Counts() for name in totals}
        for arrival in second:
            if arrival.reply.service == service_id:
                for name, matcher in (("next_month_before", before), ("next_month_after", after)):
                    got = outcome(matcher.decide(arrival.reply.text))
                    counts[name].add(arrival.reply, got)
                    totals[name].add(arrival.reply, got)
        for reply in every:
            if reply.service == service_id:
                for name, matcher in (("corpus_before", before), ("corpus_after", after)):
                    got = outcome(matcher.decide(reply.text))
                    counts[name].add(reply, got)
                    totals[name].add(reply, got)
        report["services"][service_id] = {
            "decisions": decided,
            "suggestions": [
                {"text": one.text, "action": one.action.value, "decisions": one.decisions}
                for one in mined
            ],
            **{name: value.json() for name, value in counts.items()},
        }
    report["total"] = {name: value.json() for name, value in totals.items()}
    report["total"]["decisions"] = sum(s["decisions"] for s in report["services"].values())
    report["total"]["suggestions"] = sum(len(s["suggestions"]) for s in report["services"].values())
    return report


def _percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def print_report(report: dict[str, Any]) -> None:
    total = report["total"]
    print(
        f"learning from the review queue (seed {report['seed']}, at least "
        f"{report['minimum']} decisions): {total['decisions']} caseworkers' decisions in the "
        f"first month, {total['suggestions']} suggestions accepted"
    )
    print(f"{'':<28}{'replies':>7}{'review before':>15}{'after':>9}   precision before → after")
    rows = [(sid, s) for sid, s in report["services"].items()] + [("all", total)]
    for label, figures in rows:
        for window in ("next_month", "corpus"):
            was, now = figures[f"{window}_before"], figures[f"{window}_after"]
            name = f"{label} ({'month 2' if window == 'next_month' else 'corpus'})"
            print(
                f"{name:<28}{now['replies']:>7}{_percent(was['review_share']):>15}"
                f"{_percent(now['review_share']):>9}"
                f"   {_percent(was['precision'])} → {_percent(now['precision'])}"
            )
    for service_id, figures in report["services"].items():
        for one in figures["suggestions"]:
            print(f"  {service_id}: {one['text']!r} → {one['action']} ({one['decisions']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=18, help="the simulation's seed")
    parser.add_argument("--min", type=int, default=3, help="decisions a reply needs (3)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = simulate(args.seed, args.min)
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
