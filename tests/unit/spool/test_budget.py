"""A provider that waits less than ANSWER_WITHIN splits its budget: RabbitMQ, then the spool."""

from __future__ import annotations

import pytest

from inbound.providers.notify import ANSWER_WITHIN as NOTIFY_ANSWER_WITHIN
from inbound.spool.publish_or_spool import SPOOL_WRITE_AT_LEAST, Budget, budget


@pytest.mark.parametrize(
    ("spool_after", "expected"),
    [
        (3.0, Budget(2.0, 1.5)),  # the default: the confirm gives way to the spool write
        (1.0, Budget(1.0, 2.5)),  # a short INBOUND_SPOOL_AFTER leaves the write the rest
        (6.0, Budget(2.0, 1.5)),  # the largest allowed still answers Notify in time
    ],
)
def test_notifys_budget_answers_within_its_5_seconds(spool_after: float, expected: Budget) -> None:
    found = budget(NOTIFY_ANSWER_WITHIN, spool_after)
    assert found == expected
    assert found.broker + found.spool == NOTIFY_ANSWER_WITHIN < 5
    assert found.spool >= SPOOL_WRITE_AT_LEAST
