"""What a caseworker reads on the decide form and the check page: each action in words, and what
a decision will do, from the effects `actions.effects.plan_effects` plans. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from inbound.actions.effects import CALLBACK_ACTIONS, Effects, OptChange
from inbound.rules.model import Action, ServiceRules
from inbound.states import ActionKind, ActionState

# The radio value for closing an item without an action (it is dismissed with this reason).
NO_ACTION = "none"
NO_ACTION_LABEL = "No action needed"

# Actions a caseworker may decide: those whose outcome the service hears about.
DECIDABLE = frozenset(CALLBACK_ACTIONS)

# The default label of each decidable action; a rule file's `labels:` replaces any of them.
DEFAULT_LABELS: Mapping[Action, str] = MappingProxyType(
    {
        Action.confirm: "Confirm the appointment",
        Action.cancel: "Cancel the appointment",
        Action.change: "Ask to change the appointment",
        Action.report: "Pass on the report",
        Action.register: "Register them",
        Action.follow_up: "Ask for a follow-up",
        Action.feedback: "Pass on the feedback",
        Action.opt_out: "Opt out of messages",
        Action.opt_in: "Opt back in to messages",
    }
)

# What the service is told, as the end of "inbound will tell <service> that …".
TOLD: Mapping[Action, str] = MappingProxyType(
    {
        Action.confirm: "the appointment is confirmed",
        Action.cancel: "the appointment is cancelled",
        Action.change: "they want to change the appointment",
        Action.report: "there is a report to pass on",
        Action.register: "they want to register",
        Action.follow_up: "they need a follow-up",
        Action.feedback: "they have given feedback",
        Action.opt_out: "they have opted out of messages",
        Action.opt_in: "they have opted back in to messages",
    }
)


@dataclass(frozen=True)
class Choice:
    """One radio of the decide form."""

    value: str  # an action, or NO_ACTION
    label: str


def label(service: ServiceRules | None, action: str) -> str:
    """The words for `action`: the rule file's label, else the default, else the id itself."""
    if action == NO_ACTION:
        return NO_ACTION_LABEL
    if action not in Action.__members__:
        return action
    known = Action(action)
    if service is not None and known in service.labels:
        return service.labels[known]
    return DEFAULT_LABELS.get(known, action.replace("_", " ").capitalize())


def choices(service: ServiceRules) -> tuple[Choice, ...]:
    """The decisions offered for an item of `service`: the decidable actions its rules name, in
    the rules' order, then "No action needed"."""
    used = dict.fromkeys(rule.action for rule in service.rules if rule.action in DECIDABLE)
    offered = tuple(Choice(action.value, label(service, action)) for action in used)
    return (*offered, Choice(NO_ACTION, NO_ACTION_LABEL))


def offered(service: ServiceRules) -> frozenset[str]:
    """The actions a caseworker may choose for an item of `service` on the item page."""
    return frozenset(choice.value for choice in choices(service) if choice.value != NO_ACTION)


@dataclass(frozen=True)
class Consequences:
    """What a decision will do, in sentences, and whether it sends anything."""

    sentences: tuple[str, ...]
    reply_text: str | None  # the text that will be sent to the number, if one will
    sends: bool  # a callback or an SMS will go: the decision needs confirming
    changes_register: bool  # the opt-out register changes at once

    @property
    def needs_check(self) -> bool:
        """True when the caseworker must see this before it happens."""
        return self.sends or self.changes_register


def consequences(service_name: str, action: str, effects: Effects) -> Consequences:
    """What `effects` (planned for a decision of `action`) will do, said for a caseworker."""
    told = TOLD.get(Action(action), action) if action in Action.__members__ else action
    sentences: list[str] = []
    reply: str | None = None
    sends = False
    for planned in effects.actions:
        if planned.kind is ActionKind.CALLBACK:
            if planned.state is ActionState.PENDING:
                sends = True
                sentences.append(f"inbound will tell {service_name} that {told}.")
            else:
                sentences.append(
                    f"inbound would tell {service_name} that {told}, but callbacks are off "
                    "here: it is recorded, not sent."
                )
        elif planned.kind is ActionKind.REPLY:
            text = str(planned.payload.get("text", ""))
            if planned.state is ActionState.PENDING:
                sends = True
                reply = text
                sentences.append("inbound will text this reply to the number:")
            else:
                sentences.append(f"No text will be sent to the number ({planned.note}).")
    if effects.opt_change is OptChange.OUT:
        sentences.append(
            "The number goes on the opt-out register at once: the service won't text it again."
        )
    elif effects.opt_change is OptChange.IN:
        sentences.append("The number comes off the opt-out register at once.")
    if not sentences:
        sentences.append(f"Nothing is sent: {service_name} has no callback for this decision.")
    return Consequences(tuple(sentences), reply, sends, effects.opt_change is not None)
