"""Where a message ends, decided from the rules before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbound.message import InboundMessage
from inbound.outcome import Status, route
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory

EXAMPLES = Path(__file__).parents[2] / "rules" / "examples"
SURGERY = "+447700900000"


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return CompiledRules(load_directory(EXAMPLES))


def message(text: str, to: str = SURGERY) -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id="m1",
        sender="+447700900123",
        recipient=to,
        text=text,
        received_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("text", "status", "action", "reason"),
    [
        ("YES", Status.PROCESSED, "confirm", None),
        ("Cancel please", Status.PROCESSED, "cancel", None),
        ("Yes but can I change the time?", Status.REVIEW, None, ""),
        ("what is this about", Status.REVIEW, None, ""),
    ],
)
def test_route_by_the_rules(
    rules: CompiledRules, text: str, status: Status, action: str | None, reason: str | None
) -> None:
    routed = route(rules, message(text))
    assert routed.status is status
    assert routed.service_id == "appointments"
    if action is not None:
        assert routed.decision is not None
        assert routed.decision.action == action
        assert routed.review_reason is None
    else:
        assert routed.review_reason  # a person is told why


def test_a_number_no_service_owns_goes_to_review_with_the_number_masked(
    rules: CompiledRules,
) -> None:
    routed = route(rules, message("YES", to="+447700900999"))
    assert routed.status is Status.REVIEW
    assert routed.service is None
    assert routed.review_reason is not None
    assert "+447700900999" not in routed.review_reason
    assert routed.review_reason.startswith("no service owns")


def test_a_given_review_reason_overrides_a_clear_match(rules: CompiledRules) -> None:
    routed = route(rules, message("YES"), "incomplete multipart message: 1 of 2 parts arrived")
    assert routed.status is Status.REVIEW
    assert routed.review_reason == "incomplete multipart message: 1 of 2 parts arrived"
    assert routed.decision is not None
    assert routed.decision.action == "confirm"
