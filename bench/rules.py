"""Benchmark: rule matching for a 20-rule service, against a plain dict lookup baseline.

    .venv/bin/python bench/rules.py [--seconds 2]

Prints matches per second on one core for the matcher, for the baseline (normalise the text
and look it up in a dict of keywords: the least any matcher must do) measured in the same run,
and the ratio between them. The issue's target is at least 50,000 matches a second.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from inbound.rules.match import Matcher
from inbound.rules.model import Rule, Service, ServiceRules
from inbound.rules.normalise import normalise

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "unit" / "rules" / "corpus.yaml"


def twenty_rules() -> ServiceRules:
    """A busy service: every match kind, captures, a manual rule, 20 rules in all."""
    specs: list[dict[str, object]] = [
        {
            "name": "confirm",
            "keywords": [
                "yes",
                "y",
                "yes please",
                "yeah",
                "yep",
                "confirm",
                "confirmed",
                "ok",
                "okay",
                "i will be there",
                "👍",
            ],
        },
        {
            "name": "cancel",
            "keywords": ["no", "cancel", "cancelled", "no thanks", "cancel it", "can't make it"],
            "action": "cancel",
        },
        {
            "name": "change",
            "keywords": ["change", "reschedule", "rearrange", "move"],
            "match": "first",
            "action": "manual",
        },
        {
            "name": "report",
            "keywords": ["report", "fault", "problem"],
            "match": "first",
            "action": "report",
            "requires": ["details"],
        },
        {
            "name": "street",
            "keywords": [
                "pothole",
                "fly tipping",
                "graffiti",
                "blocked drain",
                "broken streetlight",
            ],
            "match": "phrase",
            "action": "report",
        },
        {
            "name": "status",
            "keywords": ["status", "progress"],
            "match": "first",
            "action": "follow_up",
            "captures": {"reference": "[a-z]{2}[0-9]{6}"},
            "requires": ["reference"],
        },
        {
            "name": "rating",
            "keywords": ["^([1-5]|one|two|three|four|five)( out of 5| 5)?$"],
            "match": "regex",
            "action": "feedback",
            "captures": {"rating": True},
        },
        {
            "name": "rate",
            "keywords": ["rate", "rating", "score"],
            "match": "first",
            "action": "feedback",
            "captures": {"rating": True},
            "requires": ["rating"],
        },
        {
            "name": "comment",
            "keywords": ["comment", "comments"],
            "match": "first",
            "action": "feedback",
            "requires": ["details"],
        },
        {
            "name": "complaint",
            "keywords": ["complaint", "complain"],
            "match": "phrase",
            "action": "manual",
        },
        {
            "name": "join",
            "keywords": ["join", "register", "sign up"],
            "match": "first",
            "action": "register",
            "requires": ["details"],
        },
        {"name": "start", "keywords": ["start", "unstop", "resume"], "action": "opt_in"},
        {
            "name": "hours",
            "keywords": ["hours", "opening hours", "when are you open"],
            "action": "reply",
            "reply": "Open 9-5.",
        },
        {
            "name": "address",
            "keywords": ["address", "where are you"],
            "action": "reply",
            "reply": "12 Main St.",
        },
        {"name": "help", "keywords": ["help", "info"], "action": "help"},
        {"name": "fixed", "keywords": ["fixed", "sorted", "resolved"], "action": "feedback"},
        {
            "name": "late",
            "keywords": ["running late", "late"],
            "match": "first",
            "action": "follow_up",
        },
        {
            "name": "callback",
            "keywords": ["call me", "call back"],
            "match": "first",
            "action": "manual",
        },
        {"name": "parking", "keywords": ["parking"], "match": "phrase", "action": "manual"},
        {"name": "stop", "keywords": ["stop", "unsubscribe"], "action": "opt_out"},
    ]
    rules = [Rule(**{"action": "confirm", "match": "only", **spec}) for spec in specs]
    service = Service(id="bench", name="Bench", region="GB", numbers=["+447700900000"])
    return ServiceRules(service=service, rules=rules)


def replies() -> list[str]:
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    texts = [text for groups in corpus.values() for group in groups.values() for text in group]
    random.Random(4).shuffle(texts)
    return texts


def rate(call: Callable[[str], object], texts: list[str], seconds: float) -> float:
    """Calls per second of `call` over `texts`, measured for about `seconds`."""
    cycle = itertools.cycle(texts)
    for text in texts:  # warm caches and the regex engine
        call(text)
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(1000):
            call(next(cycle))
        done += 1000
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    rules = twenty_rules()
    matcher = Matcher(rules)
    table = {normalise(k): rule.name for rule in rules.rules for k in rule.keywords}
    texts = replies()

    def baseline(text: str) -> object:
        return table.get(normalise(text))

    base = rate(baseline, texts, args.seconds)
    matched = rate(matcher.decide, texts, args.seconds)
    print(f"service: {len(rules.rules)} rules; replies: {len(texts)} from the test corpus")
    print(f"baseline (normalise + dict lookup): {base:>10,.0f} matches/s")
    print(f"matcher (Matcher.decide):           {matched:>10,.0f} matches/s")
    print(f"ratio matcher/baseline: {matched / base:.2f}  (target: >= 50,000 matches/s)")


if __name__ == "__main__":
    main()
