"""A prompt made up to try a reply against ("what if this number had been asked to confirm or
cancel?"), for `inbound rules test --expects` and the "test a message" of the rules page and
a draft's preview. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from inbound.message import InboundMessage
from inbound.outcome import Route, route
from inbound.prompts.model import Prompt
from inbound.rules.compiled import CompiledRules
from inbound.rules.model import Action, ServiceRules

TRIAL_REFERENCE = "trial"
# The number a trial reminder is sent to when none is given: an Ofcom drama number. It only
# ties the reply to the reminder and is never shown.
TRIAL_SENDER = "+447700900999"
# Sent a minute before the reply and open for a day: a reply that is neither early nor late.
_SENT_BEFORE = timedelta(minutes=1)
_OPEN_FOR = timedelta(days=1)


def hypothetical(service: str, number: str, expects: Iterable[Action], now: datetime) -> Prompt:
    """An open prompt to `number` expecting `expects`, sent just before `now` and not expired;
    raises `InvalidPrompt` for expects a prompt can't have (none, manual, opt-out, …)."""
    return Prompt(
        service=service,
        recipient=number,
        reference=TRIAL_REFERENCE,
        expects=frozenset(expects),
        sent_at=now - _SENT_BEFORE,
        expires_at=now - _SENT_BEFORE + _OPEN_FOR,
    )


def as_reply(
    rules: CompiledRules,
    service: ServiceRules,
    text: str,
    expects: Iterable[Action],
    now: datetime,
    sender: str = TRIAL_SENDER,
) -> Route:
    """What `rules` would do with `text` sent to `service` as a reply to a reminder expecting
    `expects` (`hypothetical`), decided as the rules worker decides it."""
    message = InboundMessage(
        provider="trial",
        provider_message_id="trial",
        sender=sender,
        recipient=service.service.numbers[0],
        text=text,
        received_at=now,
        accepted_at=now,
    )
    return route(rules, message, prompts=[hypothetical(service.service.id, sender, expects, now)])
