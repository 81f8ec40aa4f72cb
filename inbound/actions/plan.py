"""Recording an outcome's side effects in its own transaction: opt-outs, callback, reply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from inbound import phone
from inbound.actions.event import outcome_event
from inbound.rules.model import Rule, ServiceRules, render_reply
from inbound.store.actions import PENDING, SUPPRESSED, Actions, OptOuts
from inbound.store.models import Action, Message

# Outcomes the service's own system needs to hear about; help/reply/manual only answer the sender.
CALLBACK_ACTIONS = frozenset(
    {
        "confirm",
        "cancel",
        "change",
        "report",
        "register",
        "follow_up",
        "feedback",
        "opt_out",
        "opt_in",
    }
)


@dataclass(frozen=True)
class EffectPolicy:
    """Limits on side effects."""

    reply_cap_per_hour: int = 3


async def record_effects(
    session: AsyncSession,
    *,
    service: ServiceRules,
    message: Message,
    action: str,
    captures: Mapping[str, str],
    rule: Rule | None,
    policy: EffectPolicy,
    decided_by: str | None = None,
) -> list[int]:
    """Write the outcome's opt-out change and its callback and reply actions; return new ids.

    Keys are per message and action (callback) or rule (reply), so nothing is done twice.
    """
    service_id = service.service.id
    opt_outs = OptOuts(session)
    if action == "opt_out":
        await opt_outs.opt_out(service_id, message.sender)
    elif action == "opt_in":
        await opt_outs.opt_in(service_id, message.sender)
    actions = Actions(session)
    created: list[Action] = []
    now = datetime.now(UTC)
    callback = service.service.callback
    if callback is not None and action in CALLBACK_ACTIONS:
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
        )
        row = await actions.add(
            message_id=message.id,
            service_id=service_id,
            kind="callback",
            key=key,
            payload={"url": callback.url, "secret_env": callback.secret_env, "event": event},
            flush=False,
        )
        created.append(row)
    if rule is not None and rule.reply:
        state, note = await _reply_state(
            opt_outs, actions, service_id, message.sender, action, policy, now
        )
        row = await actions.add(
            message_id=message.id,
            service_id=service_id,
            kind="reply",
            key=f"{service_id}:{message.id}:reply:{rule.name}",
            payload={"text": render_reply(rule.reply, captures)},
            recipient=message.sender,
            state=state,
            note=note,
            flush=False,
        )
        if state == PENDING:
            created.append(row)
    # One flush for the message's actions (a batch of messages shares the round trips).
    await session.flush()
    return [row.id for row in created]


async def _reply_state(
    opt_outs: OptOuts,
    actions: Actions,
    service_id: str,
    number: str,
    action: str,
    policy: EffectPolicy,
    now: datetime,
) -> tuple[str, str | None]:
    if not phone.is_e164(number):
        return SUPPRESSED, "sender can't receive texts (short code or name)"
    # The confirmation of an opt-out itself is the one text an opted-out number still gets.
    if action != "opt_out" and await opt_outs.is_opted_out(service_id, number):
        return SUPPRESSED, "number opted out"
    await actions.lock_recipient(service_id, number)
    sent = await actions.replies_since(service_id, number, now - timedelta(hours=1))
    if sent >= policy.reply_cap_per_hour:
        return SUPPRESSED, f"reply cap reached ({policy.reply_cap_per_hour} an hour)"
    return PENDING, None
