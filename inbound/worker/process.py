"""The "process a message" use case: dedupe, store, match, record — in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound import phone
from inbound.message import InboundMessage
from inbound.rules.match import Decision, Matcher
from inbound.rules.model import RuleBook, ServiceRules
from inbound.store.repository import Messages


class Status(StrEnum):
    """Where a processed message ended."""

    PROCESSED = "processed"  # an automatic outcome
    REVIEW = "review"  # a person decides
    DUPLICATE = "duplicate"  # already stored: nothing done again


@dataclass(frozen=True)
class Result:
    """What processing did with one message."""

    status: Status
    service_id: str | None = None
    decision: Decision | None = None


class CompiledRules:
    """A RuleBook with each service's matcher built once, not per message."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self._matchers = {service_id: Matcher(rules) for service_id, rules in book.services.items()}

    def service_for(self, number: str) -> ServiceRules | None:
        """The service that owns an inbound number."""
        return self.book.service_for_number(number)

    def decide(self, service: ServiceRules, text: str) -> Decision:
        """The service's rules' decision for a text."""
        return self._matchers[service.service.id].decide(text)


async def process_message(
    sessions: async_sessionmaker[AsyncSession], rules: CompiledRules, message: InboundMessage
) -> Result:
    """Store the message once and record exactly one outcome or review item for it."""
    try:
        async with sessions.begin() as session:
            return await _process(Messages(session), rules, message)
    except IntegrityError:
        # Another worker stored the same message between our check and our insert.
        return Result(Status.DUPLICATE)


async def _process(repo: Messages, rules: CompiledRules, message: InboundMessage) -> Result:
    if await repo.exists(message.provider, message.provider_message_id):
        return Result(Status.DUPLICATE)
    service = rules.service_for(message.recipient)
    if service is None:
        stored = await repo.add(message, None, Status.REVIEW)
        reason = f"no service owns {phone.mask(message.recipient)}"
        await repo.open_review(stored, None, reason, None)
        return Result(Status.REVIEW)
    service_id = service.service.id
    decision = rules.decide(service, message.text)
    if decision.automatic and decision.action is not None and decision.rule is not None:
        stored = await repo.add(message, service_id, Status.PROCESSED)
        await repo.add_outcome(
            stored, service_id, decision.action, decision.rule, decision.captures
        )
        return Result(Status.PROCESSED, service_id, decision)
    stored = await repo.add(message, service_id, Status.REVIEW)
    await repo.open_review(stored, service_id, decision.reason, decision.rule)
    return Result(Status.REVIEW, service_id, decision)
