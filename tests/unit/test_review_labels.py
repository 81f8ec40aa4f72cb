"""The decide form's words and the check page's sentences, from tables."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from inbound.actions.effects import Effects, OptChange, PlannedAction
from inbound.review import labels
from inbound.review.labels import NO_ACTION, NO_ACTION_LABEL, Choice
from inbound.rules.model import ServiceRules
from inbound.states import ActionKind, ActionState


def service(rules: list[tuple[str, str]], **extra: Any) -> ServiceRules:
    return ServiceRules.model_validate(
        {
            "service": {
                "id": "surgery",
                "name": "Riverside Surgery",
                "region": "GB",
                "numbers": ["+447700900000"],
            },
            "rules": [
                {"name": name, "keywords": [name], "action": action} for name, action in rules
            ],
            **extra,
        }
    )


APPOINTMENTS = [("yes", "confirm"), ("no", "cancel"), ("help", "help"), ("stop", "opt_out")]


def test_choices_are_the_services_own_decidable_actions_in_words_then_no_action() -> None:
    assert labels.choices(service(APPOINTMENTS)) == (
        Choice("confirm", "Confirm the appointment"),
        Choice("cancel", "Cancel the appointment"),
        Choice("opt_out", "Opt out of messages"),
        Choice(NO_ACTION, NO_ACTION_LABEL),
    )


def test_an_action_the_rules_never_name_is_not_offered() -> None:
    offered = labels.offered(service(APPOINTMENTS))
    assert offered == {"confirm", "cancel", "opt_out"}
    assert not offered & {"follow_up", "help", "manual"}


def test_an_action_used_by_two_rules_is_offered_once() -> None:
    rules = [("yes", "confirm"), ("ok", "confirm"), ("maybe", "manual")]
    assert [c.value for c in labels.choices(service(rules))] == ["confirm", NO_ACTION]


def test_a_rule_file_sets_its_own_label_and_the_rest_keep_theirs() -> None:
    rules = service(APPOINTMENTS, labels={"confirm": "  Confirm the vaccination  "})
    assert labels.label(rules, "confirm") == "Confirm the vaccination"
    assert labels.label(rules, "cancel") == "Cancel the appointment"


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("confirm", "Confirm the appointment"),
        ("report", "Pass on the report"),
        ("opt_out", "Opt out of messages"),
        ("follow_up", "Ask for a follow-up"),
        (NO_ACTION, NO_ACTION_LABEL),
        ("dismissed", "dismissed"),  # not an action: shown as it is
    ],
)
def test_default_labels(action: str, words: str) -> None:
    assert labels.label(None, action) == words


def test_every_decidable_action_has_words_for_the_form_and_the_check_page() -> None:
    assert set(labels.DEFAULT_LABELS) == labels.DECIDABLE == set(labels.TOLD)
    assert all("_" not in words for words in labels.DEFAULT_LABELS.values())


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"manual": "Hand it over"}, "not a decision a caseworker makes"),
        ({"reply": "Answer"}, "not a decision a caseworker makes"),
        ({"confirmed": "Yes"}, "Input should be"),
        ({"confirm": ""}, "at least 1 character"),
        ({"confirm": "x" * 81}, "at most 80 characters"),
        ({"confirm": "two\nlines"}, "match pattern"),
    ],
)
def test_a_label_the_form_could_not_show_is_refused_when_the_rules_load(
    given: dict[str, str], why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        service(APPOINTMENTS, labels=given)


def _callback(state: ActionState = ActionState.PENDING) -> PlannedAction:
    return PlannedAction(ActionKind.CALLBACK, "k:callback", {"event": {}}, state)


def _reply(
    text: str, state: ActionState = ActionState.PENDING, note: str | None = None
) -> PlannedAction:
    return PlannedAction(ActionKind.REPLY, "k:reply", {"text": text}, state, "+447700900123", note)


@pytest.mark.parametrize(
    ("action", "effects", "sentences", "reply", "check"),
    [
        (
            "confirm",
            Effects(None, (_callback(),)),
            ["inbound will tell Riverside Surgery that the appointment is confirmed."],
            None,
            True,
        ),
        (
            "cancel",
            Effects(None, (_callback(), _reply("Your appointment is cancelled."))),
            [
                "inbound will tell Riverside Surgery that the appointment is cancelled.",
                "inbound will text this reply to the number:",
            ],
            "Your appointment is cancelled.",
            True,
        ),
        (
            "confirm",
            Effects(None, (_callback(ActionState.SUPPRESSED),)),
            [
                "inbound would tell Riverside Surgery that the appointment is confirmed, but "
                "callbacks are off here: it is recorded, not sent."
            ],
            None,
            False,
        ),
        (
            "confirm",
            Effects(None, (_reply("Thanks", ActionState.SUPPRESSED, "number opted out"),)),
            ["No text will be sent to the number (number opted out)."],
            None,
            False,
        ),
        (
            "opt_out",
            Effects(OptChange.OUT, ()),
            ["The number goes on the opt-out register at once: the service won't text it again."],
            None,
            True,
        ),
        (
            "report",
            Effects(None, ()),
            ["Nothing is sent: Riverside Surgery has no callback for this decision."],
            None,
            False,
        ),
    ],
)
def test_consequences_say_what_the_planned_effects_will_do(
    action: str, effects: Effects, sentences: list[str], reply: str | None, check: bool
) -> None:
    told = labels.consequences("Riverside Surgery", action, effects)
    assert list(told.sentences) == sentences
    assert told.reply_text == reply
    assert told.needs_check is check


def test_a_decision_that_sends_nothing_needs_no_check_but_an_opt_out_does() -> None:
    quiet = labels.consequences("S", "report", Effects(None, ()))
    opt_out = labels.consequences("S", "opt_out", Effects(OptChange.OUT, ()))
    assert (quiet.sends, quiet.changes_register) == (False, False)
    assert (opt_out.sends, opt_out.changes_register) == (False, True)
