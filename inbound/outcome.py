"""Where a message ends, decided before anything is written: an automatic outcome, a person's
review, or nothing new (the same answer to a prompt again). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from inbound import phone
from inbound.message import InboundMessage
from inbound.prompts.matching import PromptDecision, Transition, Verdict, match_reply
from inbound.prompts.model import Prompt
from inbound.rules.compiled import CompiledRules
from inbound.rules.match import Decision
from inbound.rules.model import ServiceRules


class Status(StrEnum):
    """Where a processed message ended."""

    PROCESSED = "processed"  # an automatic outcome
    REVIEW = "review"  # a person decides
    DUPLICATE = "duplicate"  # already stored: nothing done again
    REPEAT = "repeat"  # the same answer to a prompt again: stored, nothing done again
    WAITING = "waiting"  # a part of a longer message, held until the rest arrives


@dataclass(frozen=True)
class Route:
    """What a whole message will become."""

    message: InboundMessage
    status: Status  # PROCESSED, REVIEW or REPEAT
    service: ServiceRules | None
    decision: Decision | None
    review_reason: str | None  # set when status is REVIEW
    # How the reply was matched to the sender's prompts; None when the number had none.
    matched: PromptDecision | None = None

    @property
    def service_id(self) -> str | None:
        return self.service.service.id if self.service else None

    @property
    def prompt(self) -> Prompt | None:
        """The prompt the reply answered, repeated, or most likely relates to."""
        return self.matched.prompt if self.matched else None

    @property
    def transition(self) -> Transition | None:
        """The prompt's state change to store with the outcome, if the reply answers one."""
        return self.matched.transition if self.matched else None


def route(
    rules: CompiledRules,
    message: InboundMessage,
    review_reason: str | None = None,
    prompts: Iterable[Prompt] = (),
) -> Route:
    """Decide a message's outcome from the rules in force and the `prompts` the service sent
    its sender (any state). `review_reason` sends it to review whatever the rules say (an
    incomplete or late part of a long SMS)."""
    service = rules.service_for(message.recipient)
    if service is None:
        reason = f"no service owns {phone.mask(message.recipient)}"
        return Route(message, Status.REVIEW, None, None, reason)
    decision = rules.decide(service, message.text)
    sent = list(prompts)
    matched = match_reply(message.received_at, decision, sent, service.prompts)
    # The number's prompts are recorded whenever it had any: the reviewer and the trace see
    # which one a reply was about even when the reply was sent to review for another reason.
    context = matched if sent else None
    if review_reason is not None:
        return Route(message, Status.REVIEW, service, decision, review_reason, _no_change(context))
    if matched.verdict is Verdict.REPEAT:
        return Route(message, Status.REPEAT, service, decision, None, context)
    if matched.verdict is Verdict.ACT and decision.rule is not None:
        return Route(message, Status.PROCESSED, service, decision, None, context)
    reason = matched.reason if matched.verdict is Verdict.REVIEW else decision.reason
    return Route(message, Status.REVIEW, service, decision, reason, _no_change(context))


def _no_change(matched: PromptDecision | None) -> PromptDecision | None:
    # A reply that goes to a person answers no prompt until the person decides.
    if matched is None or matched.transition is None:
        return matched
    return PromptDecision(
        Verdict.REVIEW, None, matched.prompt, None, matched.reason, matched.candidates
    )
