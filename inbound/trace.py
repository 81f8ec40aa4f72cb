"""What `inbound trace` shows of one stored message: a record for scripts, rows for people. Pure.

Phone numbers are masked unless asked for; a purged text shows as such. Each of the message's
actions (callbacks and replies) shows where it goes, its state, attempts, the next attempt,
the last error, and when it was sent or given up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from inbound import phone
from inbound.states import ActionKind, ActionState

if TYPE_CHECKING:
    from inbound.store.messages import MessageTrace

# What a person may have in hand, besides a provider's message id: the review page's item
# number (`item:12`, or `#12`), or an action id from the logs (`action:42`).
_ITEM = re.compile(r"(?:item\s*[:#]?\s*|#)(\d+)", re.IGNORECASE)
_ACTION = re.compile(r"action\s*[:#]?\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Wanted:
    """Which message `inbound trace ID` asks for."""

    kind: str  # "item" | "action" | "id" (a provider's message id, an Idempotency-Key, …)
    value: str


def wanted(typed: str) -> Wanted:
    """Read the ID a person typed: `item:12` or `#12`, `action:42`, or any other id."""
    text = typed.strip()
    for kind, pattern in (("item", _ITEM), ("action", _ACTION)):
        found = pattern.fullmatch(text)
        if found:
            return Wanted(kind, found.group(1))
    return Wanted("id", text)


@dataclass(frozen=True)
class ActionFacts:
    """One stored callback or reply, as trace needs it."""

    id: int
    key: str  # idempotency key: a callback's event id and Idempotency-Key header
    kind: str  # callback | reply
    state: str  # pending | delivered | failed | suppressed
    attempts: int
    url: str | None  # a callback's address (None once retention purged the payload)
    recipient: str | None  # a reply's number
    last_error: str | None  # the last failure, or why it was suppressed
    created_at: datetime
    published_at: datetime | None
    first_attempt_at: datetime | None
    finished_at: datetime | None


def target(url: str | None) -> str:
    """A callback's host and path: no scheme, credentials or query (which may hold tokens)."""
    if not url:
        return "(address purged)"
    parts = urlsplit(url)
    where = parts.hostname or "?"
    if parts.port:
        where += f":{parts.port}"
    return where + (parts.path or "/")


def next_attempt(action: ActionFacts, delays: Sequence[float]) -> datetime | None:
    """When a pending action is next tried, as far as the stored row tells: after n failed
    attempts it waits the n-th retry delay (the last repeats). Estimated from the first
    attempt, so it is early by the time the attempts themselves took (a timeout each, at most).
    None when nothing more is due, or it is queued to go now."""
    if (
        action.state != ActionState.PENDING
        or not action.attempts
        or action.first_attempt_at is None
    ):
        return None
    if not delays:
        return action.first_attempt_at
    waited = sum(delays[min(n, len(delays)) - 1] for n in range(1, action.attempts + 1))
    return action.first_attempt_at + timedelta(seconds=waited)


def action_record(
    action: ActionFacts, delays: Sequence[float], shown: Callable[[str], str]
) -> dict[str, Any]:
    """One action in the `--json` form."""
    if action.kind == ActionKind.CALLBACK:
        to = target(action.url)
    else:
        to = shown(action.recipient) if action.recipient else "(no number)"
    due = next_attempt(action, delays)
    return {
        "id": action.id,
        "key": action.key,
        "kind": action.kind,
        "target": to,
        "state": action.state,
        "attempts": action.attempts,
        "next_attempt_at": _iso(due),
        "last_error": action.last_error,
        "created_at": _iso(action.created_at),
        "queued": action.published_at is not None,
        "first_attempt_at": _iso(action.first_attempt_at),
        "sent_at": _iso(action.finished_at) if action.state == ActionState.DELIVERED else None,
        "gave_up_at": _iso(action.finished_at) if action.state == ActionState.FAILED else None,
    }


def record(
    found: MessageTrace,
    show_numbers: bool = False,
    actions: Sequence[ActionFacts] = (),
    delays: Sequence[float] = (),
) -> dict[str, Any]:
    """The `--json` form: the stored fields, the outcome, the review item, if any, and the
    message's actions (callbacks and replies) in the order they were recorded."""
    message, outcome, review = found.message, found.outcome, found.review
    shown: Callable[[str], str] = (lambda number: number) if show_numbers else phone.mask
    return {
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "from": shown(message.sender),
        "to": shown(message.recipient),
        "text": message.text,
        "received_at": message.received_at.isoformat(),
        "service": message.service_id,
        "status": message.status,
        "action": outcome.action if outcome else None,
        "rule": outcome.rule if outcome else (review.rule if review else None),
        "captures": outcome.captures if outcome else {},
        "review": {"id": review.id, "reason": review.reason, "state": review.state}
        if review
        else None,
        # The service's reference of the prompt the reply answered (or most likely relates to),
        # and how it was matched; both None when the number had no prompt.
        "prompt": found.prompt.reference if found.prompt else None,
        "prompt_match": message.prompt_match,
        "actions": [action_record(action, delays, shown) for action in actions],
    }


def rows(traced: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of a record, for a person at a terminal."""
    lines = [
        ("message", f"{traced['provider_message_id']} ({traced['provider']})"),
        ("from", traced["from"]),
        ("to", traced["to"]),
        ("received", traced["received_at"]),
        ("text", traced["text"] if traced["text"] is not None else "(purged)"),
        ("service", traced["service"] or "(no service owns this number)"),
        ("status", traced["status"]),
    ]
    if traced["action"]:
        lines.append(("action", f"{traced['action']} (rule {traced['rule']})"))
        lines.extend((key, value) for key, value in traced["captures"].items())
    if traced.get("prompt") or traced.get("prompt_match"):
        lines.append(("prompt", traced.get("prompt") or "(a prompt since purged)"))
        if traced.get("prompt_match"):
            lines.append(("matched", traced["prompt_match"]))
    if traced["review"]:
        review = traced["review"]
        item = f"item #{review['id']}, " if review.get("id") is not None else ""
        lines.append(("review", f"{item}{review['state']}: {review['reason']}"))
    actions = traced.get("actions", [])
    if not actions:
        lines.append(("effects", "no callback or reply"))
    for action in actions:
        lines.extend(action_rows(action))
    return lines


def action_rows(action: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A callback's or reply's lines: where to, its state and attempts, what comes next."""
    attempts = action["attempts"]
    tried = f"{attempts} attempt{'' if attempts == 1 else 's'}"
    state = action["state"]
    if state == ActionState.DELIVERED:
        status = f"delivered {action['sent_at'] or ''} after {tried}".replace("  ", " ")
    elif state == ActionState.FAILED:
        status = f"gave up {action['gave_up_at'] or ''} after {tried}".replace("  ", " ")
    elif state == ActionState.SUPPRESSED:
        status = "suppressed: not sent"
    elif not attempts:
        status = "pending, queued to go now" if action["queued"] else "pending, not yet queued"
    else:
        due = action["next_attempt_at"]
        status = f"pending after {tried}" + (f", next attempt about {due}" if due else "")
    lines = [(action["kind"], f"#{action['id']} to {action['target']}"), ("", status)]
    if action["last_error"]:
        label = "why" if state == ActionState.SUPPRESSED else "last error"
        lines.append(("", f"{label}: {action['last_error']}"))
    return lines


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None
