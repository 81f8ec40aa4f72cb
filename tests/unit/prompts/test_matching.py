"""Which prompt a reply answers, and what happens: a table of cases.

Times are hours after T0; every prompt is sent at hour 0 (unless a case says otherwise) and
expires at hour 48. The sender's prompts are listed in any state; `rules` is what the rule
engine decided for the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from inbound.prompts.matching import (
    CHANGES,
    NOT_ASKED,
    Verdict,
    decided_by_person,
    match_reply,
    names,
)
from inbound.prompts.model import Prompt, PromptState
from inbound.rules.match import Decision
from inbound.rules.model import CARRIER_RULE, Action
from inbound.rules.prompt_settings import PromptSettings, WithoutPrompt

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TO = "+447700900123"
CONFIRM, CANCEL, CHANGE = Action.confirm, Action.cancel, Action.change
DEFAULTS = PromptSettings()
CHANGES_ALLOWED = PromptSettings(allow_change=True)
REVIEW_WITHOUT = PromptSettings(without_prompt=WithoutPrompt.REVIEW)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def prompt(
    reference: str = "appt-8812",
    expects: tuple[Action, ...] = (CONFIRM, CANCEL),
    sent: float = 0,
    expires: float = 48,
    answer: tuple[Action, float] | None = None,
    withdrawn: bool = False,
) -> Prompt:
    made = Prompt(
        "appointments", TO, reference, frozenset(expects), at(sent), at(expires), "Reply YES"
    )
    if answer is not None:
        made = made.answered(answer[0], at(answer[1]))
    return made.withdrawn() if withdrawn else made


def rules(action: Action | None, reference: str | None = None, rule: str = "r") -> Decision:
    """The rule engine's decision: an action (automatic), or None (a person decides)."""
    captures: Mapping[str, str] = {"reference": reference} if reference else {}
    if action is None:
        return Decision(None, None, captures, "no rule matched")
    return Decision(action, rule, captures, f"rule {rule!r} matched")


@dataclass(frozen=True)
class Case:
    received: float  # hours after T0
    proposed: Decision
    prompts: tuple[Prompt, ...]
    verdict: Verdict
    action: Action | None = None  # set for ACT
    about: str | None = None  # the reference of `PromptDecision.prompt`
    answers: bool = False  # the prompt moves to answered(action, received)
    reason: str = ""  # a part of the reason
    candidates: tuple[str, ...] = ()
    settings: PromptSettings = field(default=DEFAULTS)


ONE = (prompt(),)
TWO = (prompt("appt-8812"), prompt("appt-9931"))

CASES = [
    # -- one open prompt ------------------------------------------------------------------------
    pytest.param(
        Case(1, rules(CONFIRM), ONE, Verdict.ACT, CONFIRM, "appt-8812", True, "answers"),
        id="a confirm to the one open reminder answers it",
    ),
    pytest.param(
        Case(1, rules(CHANGE), ONE, Verdict.REVIEW, None, "appt-8812", reason=NOT_ASKED),
        id="an action the reminder didn't ask for goes to review",
    ),
    pytest.param(
        Case(48, rules(CANCEL), ONE, Verdict.ACT, CANCEL, "appt-8812", True),
        id="a reply exactly at expiry still answers",
    ),
    pytest.param(
        Case(
            1,
            rules(CONFIRM),
            (prompt(sent=2),),
            Verdict.ACT,
            CONFIRM,
            reason="rule 'r' matched",
        ),
        id="a prompt sent after the reply was received is not answered by it",
    ),
    pytest.param(
        Case(1, rules(CONFIRM), (prompt(withdrawn=True),), Verdict.ACT, CONFIRM),
        id="a withdrawn prompt is ignored",
    ),
    pytest.param(
        Case(1, rules(CONFIRM, "8812"), ONE, Verdict.ACT, CONFIRM, "appt-8812", True),
        id="a reply naming the one open reminder answers it",
    ),
    pytest.param(
        Case(
            1,
            rules(CANCEL, "7777"),
            ONE,
            Verdict.REVIEW,
            reason="names 7777, which is none of the reminders",
            candidates=("appt-8812",),
        ),
        id="a reply naming another reference does not answer the open reminder",
    ),
    # -- review from the rules ------------------------------------------------------------------
    pytest.param(
        Case(
            1,
            rules(None),
            ONE,
            Verdict.REVIEW,
            None,
            "appt-8812",
            reason="no rule matched; most likely about reminder appt-8812",
        ),
        id="a reply the rules send to review stays review and records the likely reminder",
    ),
    pytest.param(
        Case(
            1,
            Decision(Action.manual, "talk", {}, "rule 'talk' hands it to a person"),
            ONE,
            Verdict.REVIEW,
            about="appt-8812",
            reason="hands it to a person",
        ),
        id="a manual rule stays review and records the likely reminder",
    ),
    pytest.param(
        Case(
            1,
            rules(None),
            TWO,
            Verdict.REVIEW,
            reason="no rule matched; reminders sent to this number: appt-8812, appt-9931",
            candidates=("appt-8812", "appt-9931"),
        ),
        id="a review with two open reminders relates to neither and lists both",
    ),
    # -- standing actions -----------------------------------------------------------------------
    pytest.param(
        Case(
            1,
            Decision(Action.opt_out, CARRIER_RULE, {}, "carrier opt-out word STOP (region GB)"),
            ONE,
            Verdict.ACT,
            Action.opt_out,
            "appt-8812",
            reason="whatever a reminder asked",
        ),
        id="STOP opts out even though the reminder expects only confirm or cancel",
    ),
    pytest.param(
        Case(1, rules(Action.help), TWO, Verdict.ACT, Action.help),
        id="HELP is answered with two open reminders and answers neither",
    ),
    pytest.param(
        Case(100, rules(Action.opt_out), ONE, Verdict.ACT, Action.opt_out, "appt-8812"),
        id="an opt-out after the reminder expired still takes effect",
    ),
    # -- several open prompts -------------------------------------------------------------------
    pytest.param(
        Case(1, rules(CANCEL, "8812"), TWO, Verdict.ACT, CANCEL, "appt-8812", True),
        id="with two open reminders a reply naming one answers that one",
    ),
    pytest.param(
        Case(1, rules(CANCEL, "APPT 9931"), TWO, Verdict.ACT, CANCEL, "appt-9931", True),
        id="a reference is matched ignoring case and punctuation",
    ),
    pytest.param(
        Case(
            1,
            rules(CANCEL),
            TWO,
            Verdict.REVIEW,
            reason="2 reminders are open (appt-8812, appt-9931)",
            candidates=("appt-8812", "appt-9931"),
        ),
        id="with two open reminders a reply naming none goes to review listing them",
    ),
    pytest.param(
        Case(
            1,
            rules(CANCEL),
            (prompt("appt-8812", (CONFIRM,)), prompt("appt-9931")),
            Verdict.REVIEW,
            candidates=("appt-8812", "appt-9931"),
        ),
        id="two open reminders are not told apart by what they expect",
    ),
    pytest.param(
        Case(
            1,
            rules(CONFIRM),
            (prompt("appt-8812", answer=(CONFIRM, 0.5)), prompt("appt-9931", sent=0.7)),
            Verdict.ACT,
            CONFIRM,
            "appt-9931",
            True,
        ),
        id="an open reminder is answered before an already answered one",
    ),
    pytest.param(
        Case(
            1,
            rules(CONFIRM),
            (prompt("appt-8812"), prompt("appt-9931", expires=0.5)),
            Verdict.ACT,
            CONFIRM,
            "appt-8812",
            True,
        ),
        id="an open reminder is answered even when an expired one is beside it",
    ),
    # -- answered prompts -----------------------------------------------------------------------
    pytest.param(
        Case(
            2,
            rules(CONFIRM),
            (prompt(answer=(CONFIRM, 1)),),
            Verdict.REPEAT,
            about="appt-8812",
            reason="repeats the answer",
        ),
        id="the same answer again does nothing new",
    ),
    pytest.param(
        Case(
            60,
            rules(CONFIRM),
            (prompt(answer=(CONFIRM, 1)),),
            Verdict.REPEAT,
            about="appt-8812",
        ),
        id="the same answer again after expiry does nothing new",
    ),
    pytest.param(
        Case(
            2,
            rules(CANCEL),
            (prompt(answer=(CONFIRM, 1)),),
            Verdict.REVIEW,
            about="appt-8812",
            reason=f"{CHANGES} to reminder appt-8812 (confirm to cancel)",
        ),
        id="a different answer goes to review as a change",
    ),
    pytest.param(
        Case(
            2,
            rules(CANCEL),
            (prompt(answer=(CONFIRM, 1)),),
            Verdict.ACT,
            CANCEL,
            "appt-8812",
            True,
            "this service allows changes",
            settings=CHANGES_ALLOWED,
        ),
        id="a different answer replaces the first when changes are allowed",
    ),
    pytest.param(
        Case(
            2,
            rules(CHANGE),
            (prompt(answer=(CONFIRM, 1)),),
            Verdict.REVIEW,
            about="appt-8812",
            reason=NOT_ASKED,
            settings=CHANGES_ALLOWED,
        ),
        id="an allowed change must still be one of the answers asked for",
    ),
    pytest.param(
        Case(
            50,
            rules(CANCEL),
            (prompt(answer=(CONFIRM, 1)),),
            Verdict.REVIEW,
            about="appt-8812",
            reason="2 hours after the reminder expired",
            settings=CHANGES_ALLOWED,
        ),
        id="a change after expiry goes to review even when changes are allowed",
    ),
    pytest.param(
        Case(
            1,
            rules(CANCEL),
            (prompt(answer=(CONFIRM, 2)),),
            Verdict.REVIEW,
            about="appt-8812",
            reason="received after it or at the same time",
            settings=CHANGES_ALLOWED,
        ),
        id="a reply older than the recorded answer never replaces it",
    ),
    pytest.param(
        Case(
            2,
            rules(CONFIRM),
            (prompt("appt-8812", answer=(CONFIRM, 1)), prompt("appt-9931", answer=(CONFIRM, 1.5))),
            Verdict.REPEAT,
            about="appt-9931",
        ),
        id="a repeat of the answer every answered reminder got does nothing new",
    ),
    pytest.param(
        Case(
            2,
            rules(CANCEL),
            (prompt("appt-8812", answer=(CONFIRM, 1)), prompt("appt-9931", answer=(CANCEL, 1.5))),
            Verdict.REVIEW,
            reason=CHANGES,
            candidates=("appt-8812", "appt-9931"),
            settings=CHANGES_ALLOWED,
        ),
        id="a change with two answered reminders and no reference goes to review",
    ),
    pytest.param(
        Case(
            2,
            rules(CANCEL, "9931"),
            (prompt("appt-8812", answer=(CONFIRM, 1)), prompt("appt-9931", answer=(CONFIRM, 1.5))),
            Verdict.ACT,
            CANCEL,
            "appt-9931",
            True,
            settings=CHANGES_ALLOWED,
        ),
        id="a named change to one of two answered reminders is allowed when changes are",
    ),
    # -- expired prompts ------------------------------------------------------------------------
    pytest.param(
        Case(
            48 + 72 + 5,
            rules(CONFIRM),
            ONE,
            Verdict.REVIEW,
            about="appt-8812",
            reason="came 3 days after the reminder expired (appt-8812)",
        ),
        id="a reply to an expired reminder goes to review saying how late it came",
    ),
    pytest.param(
        Case(
            48 + 0.5,
            rules(CONFIRM),
            (prompt("appt-8812", expires=24), prompt("appt-9931")),
            Verdict.REVIEW,
            about="appt-9931",
            reason="came 30 minutes after the reminder expired (appt-9931)",
        ),
        id="with several expired reminders the lateness counts from the last to expire",
    ),
    # -- no prompt ------------------------------------------------------------------------------
    pytest.param(
        Case(1, rules(CONFIRM), (), Verdict.ACT, CONFIRM, reason="rule 'r' matched"),
        id="with no prompt the rules decide as before by default",
    ),
    pytest.param(
        Case(1, rules(CONFIRM, "8812"), (), Verdict.ACT, CONFIRM),
        id="with no prompt a captured reference changes nothing",
    ),
    pytest.param(
        Case(
            1,
            rules(CONFIRM),
            (),
            Verdict.REVIEW,
            reason="no reminder asked this number",
            settings=REVIEW_WITHOUT,
        ),
        id="with no prompt a service that reviews such replies gets a review",
    ),
    pytest.param(
        Case(1, rules(None), (), Verdict.REVIEW, reason="no rule matched"),
        id="with no prompt a review from the rules stays review",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_match_reply(case: Case) -> None:
    received = at(case.received)
    decision = match_reply(received, case.proposed, case.prompts, case.settings)

    assert decision.verdict is case.verdict
    assert decision.action == case.action
    assert (decision.prompt.reference if decision.prompt else None) == case.about
    assert case.reason in decision.reason
    assert tuple(p.reference for p in decision.candidates) == case.candidates
    if case.answers:
        assert decision.transition is not None
        assert decision.answered is decision.prompt
        assert decision.transition.after == decision.transition.before.answered(
            decision.action or Action.manual, received
        )
    else:
        assert decision.transition is None
        assert decision.answered is None
    # never an automatic action outside the answered prompt's expects
    if decision.transition is not None:
        assert decision.action in decision.transition.before.expects
    assert "+44" not in decision.reason


def test_a_named_reference_argument_overrides_the_capture() -> None:
    decision = match_reply(at(1), rules(CANCEL, "8812"), TWO, DEFAULTS, named_reference="9931")
    assert decision.answered is not None
    assert decision.answered.reference == "appt-9931"


@pytest.mark.parametrize(
    ("said", "reference", "expected"),
    [
        pytest.param("appt-8812", "appt-8812", True, id="the whole reference names it"),
        pytest.param("APPT 8812", "appt-8812", True, id="case and punctuation are ignored"),
        pytest.param("8812", "appt-8812", True, id="the last part names it"),
        pytest.param("appt", "appt-8812", False, id="the first part alone does not"),
        pytest.param("881", "appt-8812", False, id="a part of a number does not"),
        pytest.param("--", "appt-8812", False, id="punctuation alone names nothing"),
        pytest.param("AB123456", "ab123456", True, id="a reference without parts"),
    ],
)
def test_which_references_name_a_prompt(said: str, reference: str, expected: bool) -> None:
    assert names(said, prompt(reference)) is expected


def test_withdrawn_prompts_are_never_answered_or_related() -> None:
    decision = match_reply(at(1), rules(None), (prompt(withdrawn=True),), DEFAULTS)
    assert decision.prompt is None
    assert decision.candidates == ()


def test_states_are_open_answered_withdrawn() -> None:
    assert [state.value for state in PromptState] == ["open", "answered", "withdrawn"]


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [
        pytest.param(prompt(), Action.confirm, Action.confirm, id="answers an open prompt"),
        pytest.param(
            prompt(expects=(CONFIRM,)),
            Action.cancel,
            Action.cancel,
            id="even outside expects: a person decided",
        ),
        pytest.param(
            prompt().answered(Action.confirm, at(2)),
            Action.cancel,
            Action.cancel,
            id="replaces an earlier answer",
        ),
        pytest.param(
            prompt().answered(Action.confirm, at(2)),
            Action.confirm,
            None,
            id="the same answer again changes nothing",
        ),
        pytest.param(prompt().withdrawn(), Action.confirm, None, id="a withdrawn prompt stays so"),
        pytest.param(prompt(), Action.opt_out, None, id="an opt-out answers no prompt"),
        pytest.param(prompt(), Action.manual, None, id="no action answers nothing"),
    ],
)
def test_a_caseworker_decision_answers_the_prompt(
    before: Prompt, action: Action, after: Action | None
) -> None:
    change = decided_by_person(before, action, at(3))
    if after is None:
        assert change is None
    else:
        assert change is not None
        assert change.before == before
        assert change.after.answer is not None
        assert (change.after.answer.action, change.after.answer.at) == (after, at(3))
