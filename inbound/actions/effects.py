"""Which side effects an outcome has: an opt-out change, a callback, a reply. Pure.

The outbox (`actions/outbox.py`) loads what this needs to know, calls `plan_effects`, and writes
what it returns in the outcome's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from inbound import phone
from inbound.actions.event import outcome_event
from inbound.prompts.model import Prompt
from inbound.rules.model import Action, Rule, ServiceRules, render_reply
from inbound.states import ActionKind, ActionState

# Outcomes the service's own system needs to hear about; help, reply and manual only answer
# the sender.
CALLBACK_ACTIONS = frozenset(Action) - {Action.help, Action.reply, Action.manual}


@dataclass(frozen=True)
class EffectPolicy:
    """Limits on side effects."""

    reply_cap_per_hour: int = 3
    send_callbacks: bool = True  # False (INBOUND_CALLBACKS=off, local runs): recorded, not sent


class OptChange(StrEnum):
    """A change to the service's opt-out register."""

    OUT = "out"
    IN = "in"


_OPT_CHANGES: Mapping[str, OptChange] = {
    Action.opt_out.value: OptChange.OUT,
    Action.opt_in.value: OptChange.IN,
}


class StoredMessage(Protocol):
    """What the effects need of the stored message (a `store.models.Message` row is one)."""

    @property
    def id(self) -> int: ...
    @property
    def sender(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def provider_message_id(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True)
class SenderHistory:
    """What the service already knows of the sender, as the outcome's transaction sees it."""

    opted_out: bool
    replies_last_hour: int


@dataclass(frozen=True)
class PlannedAction:
    """An outbox row to write: pending ones are handed to the action worker after the commit."""

    kind: ActionKind
    key: str  # idempotency key: unique, so the same effect is never recorded twice
    payload: Mapping[str, Any]
    state: ActionState = ActionState.PENDING
    recipient: str | None = None
    note: str | None = None  # why a reply (or callback) is suppressed


@dataclass(frozen=True)
class Effects:
    """Everything an outcome changes besides the outcome row itself."""

    opt_change: OptChange | None
    actions: tuple[PlannedAction, ...]


def needs_history(rule: Rule | None, sender: str) -> bool:
    """True when `plan_effects` will read the sender's history (a reply to a textable number):
    only then need the outbox lock and count the sender's replies."""
    return rule is not None and bool(rule.reply) and phone.is_e164(sender)


def plan_effects(
    *,
    service: ServiceRules,
    message: StoredMessage,
    action: str,
    captures: Mapping[str, str],
    rule: Rule | None,
    policy: EffectPolicy,
    history: SenderHistory | None,
    now: datetime,
    decided_by: str | None = None,
    prompt: Prompt | None = None,
    language: str | None = None,
) -> Effects:
    """The opt-out change, callback and reply for one outcome (automatic, or a caseworker's
    with `decided_by`), answering `prompt` if set; the rule's reply in `language` (the one the
    person wrote in) when it has one. Keys are per message and action (callback) or rule
    (reply)."""
    service_id = service.service.id
    change = _OPT_CHANGES.get(action)
    planned: list[PlannedAction] = []
    callback = service.service.callback
    # A callback in Notify's shape was sent when the text arrived (`notify_callback`).
    if callback is not None and callback.format == "inbound" and action in CALLBACK_ACTIONS:
        key = f"{service_id}:{message.id}:callback:{action}"
        event = outcome_event(
            event_id=key,
            service_id=service_id,
            action=action,
            captures=captures,
            sender=message.sender,
            provider=message.provider,
            provider_message_id=message.provider_message_id,
            received_at=message.received_at,
            decided_at=now,
            rule=rule.name if rule else None,
            decided_by=decided_by,
            prompt=prompt,
            language=language,
        )
        payload = {"url": callback.url, "secret_env": callback.secret_env, "event": event}
        state, note = callback_state(policy)
        planned.append(PlannedAction(ActionKind.CALLBACK, key, payload, state, note=note))
    default = service.service.language
    chosen = rule.reply_for(language or default, default) if rule is not None else None
    if rule is not None and chosen is not None:
        template, reply_language = chosen
        state, note = reply_state(message.sender, change, history, policy)
        planned.append(
            PlannedAction(
                ActionKind.REPLY,
                f"{service_id}:{message.id}:reply:{rule.name}",
                # The language is kept with the text so a page or log can say which was sent.
                {"text": render_reply(template, captures), "language": reply_language},
                state,
                message.sender,
                note,
            )
        )
    return Effects(change, tuple(planned))


def callback_state(policy: EffectPolicy) -> tuple[ActionState, str | None]:
    """Whether a callback is sent, and if not, why."""
    if policy.send_callbacks:
        return ActionState.PENDING, None
    return ActionState.SUPPRESSED, "callbacks are off here (INBOUND_CALLBACKS=off)"


def reply_state(
    sender: str,
    change: OptChange | None,
    history: SenderHistory | None,
    policy: EffectPolicy,
) -> tuple[ActionState, str | None]:
    """Whether an automatic reply is sent, and if not, why."""
    if not phone.is_e164(sender) or history is None:
        return ActionState.SUPPRESSED, "sender can't receive texts (short code or name)"
    # The confirmation of an opt-out is the one text an opted-out number still gets; an opt-in
    # takes the number off the register before its reply.
    if history.opted_out and change is None:
        return ActionState.SUPPRESSED, "number opted out"
    if history.replies_last_hour >= policy.reply_cap_per_hour:
        return ActionState.SUPPRESSED, f"reply cap reached ({policy.reply_cap_per_hour} an hour)"
    return ActionState.PENDING, None


def caseworker_reply(
    service_id: str, message: StoredMessage, text: str, token: str
) -> PlannedAction:
    """A caseworker's text to the sender; `token` makes each one its own key, as a caseworker
    may write more than once."""
    return PlannedAction(
        ActionKind.REPLY,
        f"{service_id}:{message.id}:reply:caseworker:{token}",
        {"text": text},
        recipient=message.sender,
    )
