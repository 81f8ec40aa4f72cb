"""Review reasons in plain English: every reason the example rules give the corpus, and each
shape the prompt matcher, the action worker and the dead-letter handler write."""

from __future__ import annotations

import pytest

from inbound.review.reasons import reason_in_words
from inbound.rules.load import load_directory
from inbound.rules.match import Matcher
from inbound.rules.model import Action
from tests.unit.rules.conftest import EXAMPLES
from tests.unit.rules.test_corpus import CASES

SERVICES = load_directory(EXAMPLES).services
JARGON = ("keyword '", "rule '", "(rule", "(rules", "negation '")


def test_every_reason_the_corpus_gets_is_reworded_without_rule_jargon() -> None:
    reasons = {
        (case.service, decision.reason)
        for case in CASES
        if not (decision := Matcher(SERVICES[case.service]).decide(case.text)).automatic
    }
    assert len(reasons) > 20  # the corpus's doubts take many shapes
    for service, reason in reasons:
        words = reason_in_words(reason, SERVICES[service])
        assert not any(mark in words for mark in JARGON), (reason, words)
        assert words[0].isupper(), (reason, words)
        assert words.endswith("."), (reason, words)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (
            "extra text after keyword 'yes'",
            "The reply starts with \u201cyes\u201d but goes on to say more, such as a question "
            "or a change.",
        ),
        (
            "matched confirm and cancel (rules 'confirm' and 'cancel')",
            "The reply could mean more than one thing: \u201cConfirm the appointment\u201d or "
            "\u201cCancel the appointment\u201d.",
        ),
        (
            "not one of the answers this reminder asked for: cancel (reminder appt-8812 expects "
            "confirm); most likely about reminder appt-8812",
            "The reply means \u201cCancel the appointment\u201d, which reminder appt-8812 did not "
            "ask for. It is most likely about reminder appt-8812.",
        ),
        (
            "changes an earlier answer to reminder appt-1 (confirm to cancel)",
            "The reply changes the answer to reminder appt-1 from \u201cConfirm the "
            "appointment\u201d to \u201cCancel the appointment\u201d.",
        ),
        (
            "came 3 days after the reminder expired (appt-2)",
            "The reply came 3 days after reminder appt-2 expired.",
        ),
        (
            "callback failed: HTTP 500 after 4 attempts",
            "The service could not be told about the decision after 4 tries: see \u201cCould "
            "not be delivered\u201d.",
        ),
        (
            "reply failed: Notify answered HTTP 400: Can’t send to this recipient using a "
            "team-only API key after 1 attempts",
            "The automatic text back could not be sent after 1 try: see \u201cCould not be "
            "delivered\u201d.",
        ),
        ("something new the code says", "Something new the code says."),  # kept, not hidden
    ],
)
def test_each_shape_reads_as_a_sentence(reason: str, words: str) -> None:
    assert reason_in_words(reason) == words


def test_a_rule_files_own_label_names_the_action() -> None:
    service = SERVICES["appointments"]
    relabelled = service.model_copy(update={"labels": {Action.confirm: "Keep the slot"}})
    words = reason_in_words("matched confirm and cancel (rules 'a' and 'b')", relabelled)
    assert "\u201cKeep the slot\u201d" in words
