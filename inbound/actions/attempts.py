"""What follows one attempt at delivering an action: done, another try, or give up. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbound.actions.backoff import RetryPolicy, is_retryable
from inbound.states import ActionState

MAX_ERROR = 500


@dataclass(frozen=True)
class Attempt:
    """One try at delivering an action: None status means no answer at all."""

    ok: bool
    status: int | None
    error: str | None = None


@dataclass(frozen=True)
class AfterAttempt:
    """The action's new state, and what to do next."""

    state: ActionState  # PENDING while another attempt is due
    retry_in: float | None = None  # seconds until the next attempt (PENDING only)
    error: str | None = None  # the last error, kept on the row
    review_reason: str | None = None  # set when giving up: the message goes to a person


def after_attempt(
    attempt: Attempt,
    *,
    kind: str,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    policy: RetryPolicy,
) -> AfterAttempt:
    """Decide from an attempt (already counted in `attempts`) what becomes of the action."""
    if attempt.ok:
        return AfterAttempt(ActionState.DELIVERED)
    error = (attempt.error or "failed")[:MAX_ERROR]
    if not is_retryable(attempt.status) or policy.exhausted(attempts, first_attempt_at, now):
        reason = f"{kind} failed: {error} after {attempts} attempts"
        return AfterAttempt(ActionState.FAILED, error=error, review_reason=reason)
    return AfterAttempt(ActionState.PENDING, policy.delay_after(attempts), error)
