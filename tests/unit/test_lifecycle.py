"""The lifecycle's decisions from tables: node rotation, readiness, a stop step's allowance."""

from __future__ import annotations

import pytest

from inbound.lifecycle import (
    CLOSE_WITHIN,
    STEP_GRACE,
    Attempt,
    is_ready,
    next_attempt,
    step_allowance,
)


@pytest.mark.parametrize(
    ("turn", "failed", "nodes", "expected"),
    [
        (0, 0, 1, Attempt(0, True, 2.0)),  # one node: every failure waits the interval
        (5, 0, 1, Attempt(0, True, 2.0)),
        (0, 0, 3, Attempt(0, False, 0.0)),  # first of three: on to the next at once
        (1, 1, 3, Attempt(1, False, 0.0)),
        (2, 2, 3, Attempt(2, True, 2.0)),  # the round's last: then wait
        (3, 0, 3, Attempt(0, False, 0.0)),  # a new round starts from the next node
        (4, 0, 3, Attempt(1, False, 0.0)),  # connected to node 0 and lost it: node 1 next
        (7, 2, 3, Attempt(1, True, 2.0)),
    ],
)
def test_next_attempt_goes_round_the_nodes(
    turn: int, failed: int, nodes: int, expected: Attempt
) -> None:
    assert next_attempt(turn, failed, nodes, interval=2.0) == expected


@pytest.mark.parametrize(
    ("broker", "database", "serve", "worker"),
    [
        (True, True, True, True),
        (False, True, True, False),  # serve spools; a worker can't consume
        (True, False, True, False),  # serve publishes; a worker can't store
        (False, False, False, False),
    ],
)
def test_ready(broker: bool, database: bool, serve: bool, worker: bool) -> None:
    checks = {"broker": broker, "database": database}
    assert is_ready(checks, either_will_do=True) is serve
    assert is_ready(checks, either_will_do=False) is worker


@pytest.mark.parametrize(
    ("left", "close", "expected"),
    [
        (20.0, False, 20.0),  # draining work gets all that is left
        (20.0, True, CLOSE_WITHIN),  # a close at most a few seconds of it
        (1.5, True, 1.5),
        (0.0, False, STEP_GRACE),  # the budget spent: a quick step still runs
        (0.0, True, STEP_GRACE),
    ],
)
def test_step_allowance(left: float, close: bool, expected: float) -> None:
    assert step_allowance(left, close=close) == expected
