"""A provider's stated time (`received_at`) of 2001 or 2099 is kept but never trusted: the message
is accepted, flagged in a log line and a metric, and ordered by when inbound accepted it.
(Retention by accepted_at: tests/integration/test_retention.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from inbound.config import Settings
from inbound.store.review import ReviewQueue
from inbound.store.users import Scope
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_metrics import samples
from tests.integration.test_pipeline import generic

CASEWORKER = Scope(1, "case@appointments.example", {"appointments": "caseworker"}, False)


@pytest.fixture
async def logged(settings: Settings) -> AsyncIterator[tuple[Stack, list[dict[str, Any]]]]:
    """The stack, with every log line it writes captured."""
    with capture_logs() as logs:
        async with running_stack(settings) as stack:
            yield stack, logs


def stated(when: datetime) -> str:
    return when.isoformat()


@pytest.mark.parametrize(
    ("when", "direction"),
    [
        (datetime(2099, 1, 1, tzinfo=UTC), "future"),
        (datetime(2001, 1, 1, tzinfo=UTC), "past"),
    ],
)
async def test_an_implausible_stated_time_is_kept_and_flagged_not_refused(
    logged: tuple[Stack, list[dict[str, Any]]], when: datetime, direction: str
) -> None:
    stack, logs = logged
    flagged = generic("yes", received_at=stated(when))
    plausible = generic("yes", received_at=stated(datetime.now(UTC) - timedelta(hours=1)))
    for payload in (flagged, plausible):
        assert (await stack.post_generic(payload)).status == 202
    stored = await stack.processed(flagged["id"])
    assert stored.received_at == when  # the provider's claim, as it made it
    assert abs(stored.accepted_at - datetime.now(UTC)) < timedelta(minutes=1)
    await stack.processed(plausible["id"])

    skewed = [line for line in logs if line["event"] == "received_at_skewed"]
    assert [(line["provider"], line["message"]) for line in skewed] == [
        ("generic", f"generic:{flagged['id']}")
    ]
    expected = (when - stored.accepted_at).total_seconds()
    assert abs(skewed[0]["skew_seconds"] - expected) < 60
    found = samples((await stack.request("GET", "/metrics", b"", {})).text)
    labels = frozenset({("provider", "generic"), ("direction", direction)})
    assert found[("inbound_received_at_skewed_total", labels)] == 1


async def test_a_conversation_is_in_the_order_inbound_accepted_it(
    logged: tuple[Stack, list[dict[str, Any]]],
) -> None:
    """A reply stating 2001 that arrived last is shown last, not first."""
    stack, _ = logged
    first = generic("Can I change the time?", received_at="2099-01-01T00:00:00+00:00")
    second = generic("Actually, can I come on Friday?", received_at="2001-01-01T00:00:00+00:00")
    for payload in (first, second):
        assert (await stack.post_generic(payload)).status == 202
        await stack.processed(payload["id"])
    item = await stack.review_for(second["id"])
    assert item is not None
    async with stack.sessions() as session:
        view = await ReviewQueue(session).view(CASEWORKER, item.id)
    assert view is not None
    texts = [message.text for message, _, _ in view.conversation]
    assert texts[-2:] == [first["text"], second["text"]]
