"""A process's lifecycle decisions, as plain values: which RabbitMQ node the next connection
attempt goes to and how long to pause if it fails, whether a process is ready, and how long a
step of a stop may take. The adapters (broker/connection.py, receiver/ops.py, stopping.py) act
on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The most a close of a channel, a connection or a pool may take, within the stop's budget.
CLOSE_WITHIN = 5.0
# What a stop step gets when the budget is already spent.
STEP_GRACE = 0.2


@dataclass(frozen=True)
class Attempt:
    """One connection attempt: the node it goes to, and the pause before the next if it fails."""

    node: int  # index into the configured URLs
    last_of_round: bool  # if it fails, every node has failed once since the last success
    pause_if_failed: float  # seconds


def next_attempt(turn: int, failed_this_round: int, nodes: int, interval: float) -> Attempt:
    """Attempt number `turn` goes to the next node in turn; after a failure the next node is
    tried at once, and only a round in which every node failed waits `interval`."""
    last_of_round = failed_this_round + 1 >= nodes
    return Attempt(turn % nodes, last_of_round, interval if last_of_round else 0.0)


def is_ready(checks: Mapping[str, bool], *, either_will_do: bool) -> bool:
    """Ready: any dependency answering is enough for `serve` (RabbitMQ or the database makes a
    webhook durable); every one must answer for the others."""
    return any(checks.values()) if either_will_do else all(checks.values())


def step_allowance(left: float, *, close: bool) -> float:
    """How long the next stop step may take: what is left of the budget (a close at most
    CLOSE_WITHIN of it, since it finishes no work), and never less than STEP_GRACE, so a quick
    close still happens once the budget is spent."""
    if close:
        left = min(left, CLOSE_WITHIN)
    return max(left, STEP_GRACE)
