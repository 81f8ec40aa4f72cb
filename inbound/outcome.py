"""Where a message ends, decided before anything is written: an automatic outcome or a
person's review. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from inbound import phone
from inbound.message import InboundMessage
from inbound.rules.compiled import CompiledRules
from inbound.rules.match import Decision
from inbound.rules.model import ServiceRules


class Status(StrEnum):
    """Where a processed message ended."""

    PROCESSED = "processed"  # an automatic outcome
    REVIEW = "review"  # a person decides
    DUPLICATE = "duplicate"  # already stored: nothing done again
    WAITING = "waiting"  # a part of a longer message, held until the rest arrives


@dataclass(frozen=True)
class Route:
    """What a whole message will become."""

    message: InboundMessage
    status: Status  # PROCESSED or REVIEW
    service: ServiceRules | None
    decision: Decision | None
    review_reason: str | None  # set when status is REVIEW

    @property
    def service_id(self) -> str | None:
        return self.service.service.id if self.service else None


def route(rules: CompiledRules, message: InboundMessage, review_reason: str | None = None) -> Route:
    """Decide a message's outcome from the rules in force. `review_reason` sends it to review
    whatever the rules say (an incomplete or late part of a long SMS)."""
    service = rules.service_for(message.recipient)
    if service is None:
        reason = f"no service owns {phone.mask(message.recipient)}"
        return Route(message, Status.REVIEW, None, None, reason)
    decision = rules.decide(service, message.text)
    if (
        review_reason is None
        and decision.automatic
        and decision.action is not None
        and decision.rule is not None
    ):
        return Route(message, Status.PROCESSED, service, decision, None)
    return Route(message, Status.REVIEW, service, decision, review_reason or decision.reason)
