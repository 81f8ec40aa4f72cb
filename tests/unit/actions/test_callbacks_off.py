"""INBOUND_CALLBACKS=off (what `make run` sets): a callback is recorded as suppressed, with the
reason, and never handed to the action worker; replies are planned as before. On (the default,
as in production), the same outcome's callback is pending, to be sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbound.actions.effects import EffectPolicy, SenderHistory, plan_effects
from inbound.rules.load import load_file
from inbound.states import ActionKind, ActionState

EXAMPLE = Path(__file__).parents[3] / "rules" / "examples" / "appointments.yaml"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    id: int = 41
    sender: str = "+447700900123"
    provider: str = "generic"
    provider_message_id: str = "demo-1"
    received_at: datetime = NOW


@pytest.mark.parametrize(
    ("policy", "state", "note"),
    [
        (EffectPolicy(), ActionState.PENDING, None),
        (
            EffectPolicy(send_callbacks=False),
            ActionState.SUPPRESSED,
            "callbacks are off here (INBOUND_CALLBACKS=off)",
        ),
    ],
)
def test_a_confirm_callback_is_sent_unless_callbacks_are_off(
    policy: EffectPolicy, state: ActionState, note: str | None
) -> None:
    service = load_file(EXAMPLE)
    effects = plan_effects(
        service=service,
        message=Stored(),
        action="confirm",
        captures={},
        rule=next(r for r in service.rules if r.name == "confirm"),
        policy=policy,
        history=SenderHistory(opted_out=False, replies_last_hour=0),
        now=NOW,
    )
    callback, reply = effects.actions
    assert callback.kind is ActionKind.CALLBACK
    assert (callback.state, callback.note) == (state, note)
    assert callback.payload["url"] == "https://surgery.example/inbound/appointments"
    assert reply.state is ActionState.PENDING
