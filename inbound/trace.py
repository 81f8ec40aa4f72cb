"""What `inbound trace` shows of one stored message: a record for scripts, rows for people. Pure.

Phone numbers are masked unless asked for; a purged text shows as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from inbound import phone

if TYPE_CHECKING:
    from inbound.store.messages import MessageTrace


def record(found: MessageTrace, show_numbers: bool = False) -> dict[str, Any]:
    """The `--json` form: the stored fields, the outcome and the review item, if any."""
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
        "review": {"reason": review.reason, "state": review.state} if review else None,
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
    if traced["review"]:
        lines.append(("review", f"{traced['review']['state']}: {traced['review']['reason']}"))
    return lines
