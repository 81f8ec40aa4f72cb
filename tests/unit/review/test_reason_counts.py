"""The queue's counts per reason: stored reasons grouped under the words caseworkers read, one
group per sentence, the details of one item (a reminder's reference, how late) left out."""

from __future__ import annotations

import pytest

from inbound.review.reason_counts import ReasonCount, count_by_reason, group_named
from inbound.review.reasons import NO_REASON, reason_group, reason_in_words
from inbound.rules.load import load_directory
from inbound.rules.match import Matcher
from tests.unit.rules.conftest import EXAMPLES
from tests.unit.rules.test_corpus import CASES

LATE = "The reply came after its reminder expired."
QUESTION = "The reply asks a question about \u201ctime\u201d rather than answering."


@pytest.mark.parametrize(
    ("stored", "words"),
    [
        # A sentence that names nothing of one item: its group is the sentence the row shows.
        ("no rule matched", "None of the service's keywords is in the reply."),
        ("a question about keyword 'time'", QUESTION),
        # Only the first clause counts; what follows it is context for the item page.
        ("a question about keyword 'time'; most likely about reminder appt-8812", QUESTION),
        ("a question about keyword 'time'; reminders sent to this number: a-1, a-2", QUESTION),
        # The rule's name is for the rule details, not the group.
        (
            "matched rule 'cancel'",
            "This service's rules send replies like this one to a person.",
        ),
        (
            "matched rule 'confirm', reading one typo as keyword 'yes'",
            "This service's rules send replies like this one to a person.",
        ),
        # Reminders' references and how late a reply came: one group, whichever reminder.
        ("came 3 days after the reminder expired (appt-2)", LATE),
        ("came 20 minutes after the reminder expired (appt-77)", LATE),
        (
            "changes an earlier answer to reminder appt-1 (confirm to cancel)",
            "The reply changes an answer given before.",
        ),
        (
            "changes an earlier answer to reminder appt-1 (confirm to cancel), 2 hours after "
            "the reminder expired",
            "The reply changes an answer given before.",
        ),
        (
            "not one of the answers this reminder asked for: cancel (reminder appt-8812 expects "
            "confirm); most likely about reminder appt-8812",
            "The reply gives an answer its reminder did not ask for.",
        ),
        (
            "2 reminders are open (appt-1, appt-2) and the reply doesn't say which it answers",
            "Several reminders are waiting for an answer and the reply doesn't say which it "
            "answers.",
        ),
        (
            "names appt-9, which is none of the reminders sent to this number (appt-1)",
            "The reply names a reminder that was not sent to this number.",
        ),
        (
            "differs from the answer recorded for reminder appt-1 (confirm), which was "
            "received after it or at the same time",
            "The reply differs from an answer already recorded, which came after it.",
        ),
        ("a rating out of 10, not out of 5", "The reply gives a rating not out of 5."),
        (
            "callback failed: HTTP 500 after 8 attempts",
            "The service could not be told about the decision: see \u201cCould not be "
            "delivered\u201d.",
        ),
        (
            "reply failed: provider refused after 3 attempts",
            "The automatic text back could not be sent: see \u201cCould not be delivered\u201d.",
        ),
        # A clause of a shape reasons.py doesn't know: as stored, as its row shows it.
        ("a person decides: manual rule", "A person decides: manual rule."),
        ("", NO_REASON),
        (" ; ", NO_REASON),
    ],
)
def test_a_stored_reason_is_counted_under_its_words(stored: str, words: str) -> None:
    assert reason_group(stored) == words


def test_stored_reasons_of_one_sentence_are_one_group_and_the_largest_comes_first() -> None:
    counted = [
        ("no rule matched", 3),
        ("came 3 days after the reminder expired (appt-2)", 2),
        ("came 1 hour after the reminder expired (appt-7)", 4),
        ("matched rule 'cancel'", 1),
        ("matched rule 'confirm'", 1),
        ("empty message", 0),  # nothing counted: no group
    ]
    assert count_by_reason(counted) == (
        ReasonCount(
            LATE,
            6,
            (
                "came 1 hour after the reminder expired (appt-7)",
                "came 3 days after the reminder expired (appt-2)",
            ),
        ),
        ReasonCount("None of the service's keywords is in the reply.", 3, ("no rule matched",)),
        ReasonCount(
            "This service's rules send replies like this one to a person.",
            2,
            ("matched rule 'cancel'", "matched rule 'confirm'"),
        ),
    )


def test_groups_of_as_many_items_are_in_the_order_of_their_words() -> None:
    groups = count_by_reason([("no rule matched", 2), ("empty message", 2)])
    assert [group.words for group in groups] == [
        "None of the service's keywords is in the reply.",
        "The reply is empty.",
    ]


def test_nothing_counted_is_no_groups() -> None:
    assert count_by_reason([]) == ()


def test_a_group_is_found_by_its_words_and_an_older_links_text_is_not_a_group() -> None:
    groups = count_by_reason([("no rule matched", 2), ("empty message", 1)])
    found = group_named(groups, "The reply is empty.")
    assert found is not None
    assert found.stored == ("empty message",)
    # An older link filtered by words the stored reason contains: not a group's words.
    assert group_named(groups, "no rule matched") is None
    assert group_named(groups, "The reply is empty") is None  # words must match exactly


SERVICES = load_directory(EXAMPLES).services


def test_every_reason_the_corpus_gets_is_counted_under_words_its_row_shows() -> None:
    stored = {
        decision.reason
        for case in CASES
        if not (decision := Matcher(SERVICES[case.service]).decide(case.text)).automatic
    }
    groups = {reason_group(reason) for reason in stored}
    # Fewer groups than stored reasons (rule names fold together), each a sentence of its row.
    assert 5 < len(groups) < len(stored)
    for reason in stored:
        words = reason_group(reason)
        assert words in reason_in_words(reason), (reason, words)
