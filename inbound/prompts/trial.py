"""A prompt made up to try a reply against ("what if this number had been asked to confirm or
cancel?"), for `inbound rules test --expects` and the rules page's "test a message". Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from inbound.prompts.model import Prompt
from inbound.rules.model import Action

TRIAL_REFERENCE = "trial"
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
