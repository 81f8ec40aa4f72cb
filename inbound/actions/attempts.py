"""What follows one attempt at delivering an action: who may make it (the claim), why it
failed, and whether the action is done, tried again or given up. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbound.actions.backoff import RetryPolicy, is_retryable
from inbound.states import ActionState

MAX_ERROR = 500
# A failure's reason as logs and the row keep it: one short line.
MAX_REASON = 200
# How long a claim outlives the send's own timeout: time to record the attempt. A holder that
# hasn't let go by then is taken to have died, and another worker may take the action.
CLAIM_MARGIN = 5.0


def claim_until(now: datetime, send_timeout: float, margin: float = CLAIM_MARGIN) -> datetime:
    """When a claim taken now lapses: the send can't outlast its timeout, recording it takes
    well under the margin, so a claim still held after that belongs to a worker that died."""
    return now + timedelta(seconds=send_timeout + margin)


def may_claim(state: str, claimed_until: datetime | None, now: datetime) -> bool:
    """True when a worker may claim the action now: still to be sent, and nobody holds it (or
    the claim lapsed). `Actions.claim` asks the same question in one conditional UPDATE, so
    that of two workers asking at once only one is told yes."""
    return state == ActionState.PENDING and (claimed_until is None or claimed_until <= now)


# --- why an attempt failed: short, and safe to log ------------------------------------------

# A URL's credentials, path and query may hold secrets or numbers; its scheme and host don't.
_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^/\s@]*@)?(?P<host>[^/\s?#]*)\S*")
# A phone number, with or without its plus (and a long run of digits of any kind).
_NUMBER = re.compile(r"\+?\d{8,}")
_SPACE = re.compile(r"\s+")


def status_reason(status: int) -> str:
    """A refusal by HTTP status: `HTTP 503`."""
    return f"HTTP {status}"


def timeout_reason(seconds: float) -> str:
    """No complete answer in time: `timeout after 10 s`."""
    return f"timeout after {seconds:g} s"


def error_reason(kind: str, detail: str = "") -> str:
    """A connection error as `<type>: <message>`, on one line, without a URL's credentials,
    path or query and without anything that looks like a phone number."""
    text = _SPACE.sub(" ", detail).strip()
    text = _URL.sub(lambda m: m["scheme"] + m["host"], text)
    text = _NUMBER.sub("[number]", text)
    reason = f"{kind}: {text}" if text else kind
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


def notify_reason(status: int, body: bytes) -> str:
    """Notify's refusal as `Notify answered HTTP 400: <its own words>`: the messages of its
    error JSON (`{"status_code", "errors": [{"error", "message"}]}`, notifications-api
    `app/v2/errors.py`), joined, on one line, any long run of digits masked as for a
    connection error. Just `Notify answered HTTP 502` when the body has no such words (a
    proxy's page, say)."""
    head = f"Notify answered {status_reason(status)}"
    try:
        errors = json.loads(body).get("errors")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return head
    if not isinstance(errors, list):
        return head
    words = [
        str(error["message"])
        for error in errors
        if isinstance(error, dict) and isinstance(error.get("message"), str | int)
    ]
    text = _NUMBER.sub("[number]", _SPACE.sub(" ", "; ".join(words))).strip()
    if not text:
        return head
    reason = f"{head}: {text}"
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


# --- what follows an attempt -----------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One try at delivering an action: None status means no answer at all; `final` when
    trying again can't help whatever the status (a setting to fix, not a passing fault)."""

    ok: bool
    status: int | None
    error: str | None = None
    final: bool = False


@dataclass(frozen=True)
class AfterAttempt:
    """The action's new state, and what to do next."""

    state: ActionState  # PENDING while another attempt is due
    retry_in: float | None = None  # seconds until the next attempt (PENDING only)
    error: str | None = None  # the last error, kept on the row and given in the log line
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
    if (
        attempt.final
        or not is_retryable(attempt.status)
        or policy.exhausted(attempts, first_attempt_at, now)
    ):
        reason = f"{kind} failed: {error} after {attempts} attempts"
        return AfterAttempt(ActionState.FAILED, error=error, review_reason=reason)
    return AfterAttempt(ActionState.PENDING, policy.delay_after(attempts), error)
