"""Callbacks in GOV.UK Notify's received-text shape (`callback.format: notify`), from tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from inbound.actions.effects import EffectPolicy, plan_effects
from inbound.actions.notify_callback import (
    Handled,
    plan_received_text,
    received_text_body,
    sends_received_texts,
)
from inbound.rules.load import load_file
from inbound.rules.model import Callback, ServiceRules
from inbound.states import ActionKind, ActionState

EXAMPLE = Path(__file__).parents[3] / "rules" / "examples" / "appointments.yaml"
NOTIFY_ID = "9e1b6d3c-4a5f-4b8e-9c2d-1f0a7e6b5d4c"  # Notify's own ids are version 4


@dataclass(frozen=True)
class Text:
    id: int = 41
    sender: str = "+447700900123"
    recipient: str = "+447700900000"
    text: str | None = "Yes please"
    provider: str = "twilio"
    provider_message_id: str = "SM1"
    received_at: datetime = datetime(2026, 7, 1, 9, 30, 5, 120000, tzinfo=UTC)


def with_callback(service: ServiceRules, **fields: object) -> ServiceRules:
    callback = Callback(url="https://service.example/texts", **fields)  # type: ignore[arg-type]
    return service.model_copy(
        update={"service": service.service.model_copy(update={"callback": callback})}
    )


@pytest.fixture(scope="module")
def notify_format() -> ServiceRules:
    return with_callback(load_file(EXAMPLE), format="notify", token_env="SURGERY_TOKEN")


def test_the_body_is_what_notify_posts_and_what_inbound_did_under_its_own_key() -> None:
    body = received_text_body("appointments", Text(), Handled("processed", "confirm", "confirm"))
    assert set(body) == {
        "id",
        "source_number",
        "destination_number",
        "message",
        "date_received",
        "inbound",
    }
    assert body["source_number"] == "447700900123"  # international, no +
    assert body["destination_number"] == "07700900000"  # national
    assert body["message"] == "Yes please"
    assert body["date_received"] == "2026-07-01T09:30:05.120000Z"
    assert uuid.UUID(body["id"]).version == 8  # inbound's id for a text Notify never saw
    assert body["inbound"] == {
        "service": "appointments",
        "outcome": "processed",
        "action": "confirm",
        "rule": "confirm",
        "prompt_reference": None,
    }


def test_a_text_that_came_through_notify_keeps_notifys_id() -> None:
    text = Text(provider="notify", provider_message_id=NOTIFY_ID)
    assert received_text_body("s", text, Handled("review"))["id"] == NOTIFY_ID


def test_a_time_stamped_in_another_zone_is_sent_in_utc() -> None:
    summer = datetime(2026, 7, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    body = received_text_body("s", Text(received_at=summer), Handled("review"))
    assert body["date_received"] == "2026-07-01T09:30:00.000000Z"


def test_each_text_is_one_callback_with_the_token_variable_keyed_by_message(
    notify_format: ServiceRules,
) -> None:
    planned = plan_received_text(notify_format, Text(), Handled("review"), EffectPolicy())
    assert planned is not None
    assert planned.kind is ActionKind.CALLBACK
    assert planned.state is ActionState.PENDING
    assert planned.key == "appointments:41:callback:received"
    assert planned.payload["token_env"] == "SURGERY_TOKEN"
    assert planned.payload["url"] == "https://service.example/texts"
    off = plan_received_text(
        notify_format, Text(), Handled("review"), EffectPolicy(send_callbacks=False)
    )
    assert off is not None
    assert off.state is ActionState.SUPPRESSED


def test_the_inbound_format_sends_no_text_and_the_notify_format_no_outcome_event(
    notify_format: ServiceRules,
) -> None:
    inbound_format = with_callback(notify_format, secret_env="SURGERY_SECRET")
    assert not sends_received_texts(inbound_format)
    assert plan_received_text(inbound_format, Text(), Handled("review"), EffectPolicy()) is None
    assert sends_received_texts(notify_format)

    def callbacks(service: ServiceRules) -> list[str]:
        effects = plan_effects(
            service=service,
            message=Text(),
            action="cancel",
            captures={},
            rule=None,
            policy=EffectPolicy(),
            history=None,
            now=datetime(2026, 7, 1, tzinfo=UTC),
            decided_by="caseworker@example.org",
        )
        return [one.key for one in effects.actions if one.kind is ActionKind.CALLBACK]

    assert callbacks(inbound_format) == ["appointments:41:callback:cancel"]
    assert callbacks(notify_format) == []  # the text itself went when it arrived


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"format": "notify"}, "no token_env"),
        ({"format": "inbound", "token_env": "SURGERY_TOKEN"}, "only sent with format: notify"),
        ({"token_env": "SURGERY_TOKEN"}, "only sent with format: notify"),
        ({"format": "notify", "token_env": "a-token-itself"}, "not an environment variable"),
        ({"format": "twilio"}, "format"),
    ],
)
def test_a_callback_format_and_its_token_are_checked(fields: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Callback(url="https://service.example/texts", **fields)  # type: ignore[arg-type]


def test_a_text_with_its_body_purged_is_sent_empty_not_as_none() -> None:
    body = received_text_body("s", replace(Text(), text=None), Handled("review"))
    assert body["message"] == ""
