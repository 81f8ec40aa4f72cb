"""Which side effects an outcome has: opt-out changes, callbacks and replies, from tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbound.actions.effects import (
    CALLBACK_ACTIONS,
    EffectPolicy,
    Effects,
    OptChange,
    SenderHistory,
    caseworker_reply,
    needs_history,
    plan_effects,
    reply_state,
)
from inbound.rules.load import load_file
from inbound.rules.model import Action, ServiceRules
from inbound.states import ActionKind, ActionState

EXAMPLE = Path(__file__).parents[3] / "rules" / "examples" / "appointments.yaml"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = EffectPolicy(reply_cap_per_hour=3)
QUIET = SenderHistory(opted_out=False, replies_last_hour=0)


@dataclass(frozen=True)
class Stored:
    id: int = 41
    sender: str = "+447700900123"
    provider: str = "twilio"
    provider_message_id: str = "SM1"
    received_at: datetime = NOW


@pytest.fixture(scope="module")
def service() -> ServiceRules:
    return load_file(EXAMPLE)


def plan(
    service: ServiceRules,
    action: str,
    *,
    rule: str | None = None,
    history: SenderHistory | None = None,
    captures: dict[str, str] | None = None,
    decided_by: str | None = None,
) -> Effects:
    """The effects of `action` on the stored message, by the named rule (None: a caseworker)."""
    return plan_effects(
        service=service,
        message=Stored(),
        action=action,
        captures=captures or {},
        rule=next((r for r in service.rules if r.name == rule), None),
        policy=POLICY,
        history=history,
        now=NOW,
        decided_by=decided_by,
    )


def test_callback_actions_are_every_action_but_help_reply_and_manual() -> None:
    assert {Action.help, Action.reply, Action.manual}.isdisjoint(CALLBACK_ACTIONS)
    assert CALLBACK_ACTIONS | {Action.help, Action.reply, Action.manual} == set(Action)
    assert "confirm" in CALLBACK_ACTIONS  # plain strings from the database compare equal


@pytest.mark.parametrize(
    ("action", "change"),
    [("opt_out", OptChange.OUT), ("opt_in", OptChange.IN), ("confirm", None), ("help", None)],
)
def test_opt_change_follows_the_action(service: ServiceRules, action: str, change: object) -> None:
    effects = plan(service, action)
    assert effects.opt_change == change


def test_an_automatic_confirm_has_a_signed_callback_and_a_reply(service: ServiceRules) -> None:
    effects = plan(service, "confirm", rule="confirm", history=QUIET)
    callback, reply = effects.actions
    assert callback.kind is ActionKind.CALLBACK
    assert callback.key == "appointments:41:callback:confirm"
    assert callback.payload["url"] == "https://surgery.example/inbound/appointments"
    assert callback.payload["secret_env"] == "APPOINTMENTS_CALLBACK_SECRET"
    event = callback.payload["event"]
    assert event["decided_by"] == {"rule": "confirm"}
    assert event["message"] == {"provider": "twilio", "id": "SM1"}
    assert reply.kind is ActionKind.REPLY
    assert reply.key == "appointments:41:reply:confirm"
    assert reply.recipient == "+447700900123"
    assert reply.state is ActionState.PENDING
    assert reply.payload == {"text": "Thank you, your appointment is confirmed.", "language": "en"}


def test_a_caseworker_decision_names_the_caseworker_and_sends_no_reply(
    service: ServiceRules,
) -> None:
    effects = plan(service, "cancel", captures={"details": "moving away"}, decided_by="7")
    (callback,) = effects.actions
    assert callback.payload["event"]["decided_by"] == {"caseworker": "7"}
    assert callback.payload["event"]["captures"] == {"details": "moving away"}


def test_no_callback_for_actions_that_only_answer_the_sender(service: ServiceRules) -> None:
    effects = plan(service, "help")
    assert effects.actions == ()


def test_a_service_without_a_callback_gets_none(service: ServiceRules) -> None:
    bare = service.model_copy(
        update={"service": service.service.model_copy(update={"callback": None})}
    )
    effects = plan(bare, "confirm")
    assert effects.actions == ()


@pytest.mark.parametrize(
    ("sender", "change", "history", "state", "note"),
    [
        ("+447700900123", None, QUIET, ActionState.PENDING, None),
        ("+447700900123", None, SenderHistory(False, 2), ActionState.PENDING, None),
        ("+447700900123", None, SenderHistory(False, 3), ActionState.SUPPRESSED, "reply cap"),
        ("+447700900123", None, SenderHistory(True, 0), ActionState.SUPPRESSED, "opted out"),
        # The confirmation of an opt-out is the one text an opted-out number still gets.
        ("+447700900123", OptChange.OUT, SenderHistory(True, 0), ActionState.PENDING, None),
        # An opt-in takes the number off the register before its reply.
        ("+447700900123", OptChange.IN, SenderHistory(True, 0), ActionState.PENDING, None),
        ("+447700900123", OptChange.OUT, SenderHistory(False, 3), ActionState.SUPPRESSED, "cap"),
        ("60123", None, None, ActionState.SUPPRESSED, "can't receive texts"),
        ("COUNCIL", None, None, ActionState.SUPPRESSED, "can't receive texts"),
    ],
)
def test_reply_state(
    sender: str,
    change: OptChange | None,
    history: SenderHistory | None,
    state: ActionState,
    note: str | None,
) -> None:
    got_state, got_note = reply_state(sender, change, history, POLICY)
    assert got_state is state
    if note is None:
        assert got_note is None
    else:
        assert got_note is not None
        assert note in got_note


@pytest.mark.parametrize(
    ("rule_name", "sender", "needed"),
    [
        ("confirm", "+447700900123", True),
        ("confirm", "60123", False),  # a short code can't be texted: nothing to count
        ("change", "+447700900123", False),  # a rule with no reply
        (None, "+447700900123", False),  # a caseworker's decision
    ],
)
def test_needs_history_only_for_a_reply_to_a_textable_number(
    service: ServiceRules, rule_name: str | None, sender: str, needed: bool
) -> None:
    rule = next((r for r in service.rules if r.name == rule_name), None)
    assert needs_history(rule, sender) is needed


def test_a_suppressed_reply_is_still_planned_with_its_reason(service: ServiceRules) -> None:
    effects = plan(
        service,
        "confirm",
        rule="confirm",
        history=SenderHistory(opted_out=True, replies_last_hour=0),
    )
    reply = effects.actions[-1]
    assert reply.state is ActionState.SUPPRESSED
    assert reply.note == "number opted out"


def test_each_caseworker_reply_has_its_own_key() -> None:
    first = caseworker_reply("appointments", Stored(), "Call us", "a1")
    second = caseworker_reply("appointments", Stored(), "Call us", "b2")
    assert first.key != second.key
    assert first.recipient == "+447700900123"
    assert first.state is ActionState.PENDING
    assert first.payload == {"text": "Call us"}
