"""Prompt lifecycles through the real processing on real SQLite and PostgreSQL: a hypothesis
state machine (issue 15).

The service sends prompts (some expiring before later replies), sends them again with other
expects, and withdraws them; replies with the example appointments rules' texts arrive one by
one or in batches of 1-3 (sometimes with a redelivery of an earlier message, received out of
order, and sometimes two workers at once), processed by `process_batch`, falling back to
`process_message` one by one as the rules worker does, or by `process_message`. After every
step the database must show:

- every message delivered stored exactly once, with the status its processing returned, and
  an outcome exactly when processed, a review item exactly when sent to review; a repeat has
  neither, and no actions, and names a prompt answered earlier in the same life;
- at most one outcome and one callback per answered prompt in each of its lives (a withdrawn
  prompt sent again may be answered again; the example rules don't allow changes), and the
  prompt row answered, by that message and action, exactly when its life has that outcome;
- never an automatic answer outside the prompt's expects, before it was sent, after it expired
  or once it was withdrawn, as the prompt stood when the reply was processed; an answer that
  names no prompt comes only from a number with no live prompt (`without_prompt: rules`).

The model is only what the service did (each prompt as last sent, withdrawn or not, and its
life) and what each reply saw when first delivered; what processing decided is read back from
the database. Each example has its own sender numbers, so examples share one database per test.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.message import InboundMessage
from inbound.outcome import Status
from inbound.prompts.model import STANDING_ACTIONS, Prompt, PromptState
from inbound.rules.compiled import CompiledRules
from inbound.rules.model import Action as RuleAction
from inbound.states import ActionKind
from inbound.store import prompt_writes
from inbound.store.database import create_engine, session_factory
from inbound.store.models import Action, Message, Outcome, PromptRow, ReviewItem
from inbound.store.prompts import Prompts
from inbound.worker.process import PromptsChanged, Result, process_batch, process_message

T = TypeVar("T")
SERVICE = "appointments"
SERVICE_NUMBER = "+447700900000"  # the example appointments service's number
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REFERENCES = ("appt-1", "appt-2")
EXPECTS = (RuleAction.confirm, RuleAction.cancel)
ANSWERS = frozenset(action.value for action in EXPECTS)  # outcomes that may answer a prompt
# What people reply (rules/examples/appointments.yaml): confirm, cancel, opt-out, and replies
# a person decides (a question, more to say, a rule whose action is manual).
ANSWER_TEXTS = ("yes", "Yes please", "YES!", "cancel", "no")
TEXTS = (
    *ANSWER_TEXTS,
    "stop",
    "Yes but can I change the time?",
    "cancel?",
    "change",
)
# How long a prompt stays open (minutes): mostly hours, so later replies often come too late.
LASTS = st.one_of(st.integers(30, 6 * 60), st.integers(30, 3 * 24 * 60))
Life = tuple[str, str, int]  # (sender, reference, life) of a prompt
Answered = tuple[int | None, str | None]  # (message id, action) of an answer
# Minutes between steps: mostly a while, sometimes days.
AFTER = st.one_of(st.integers(0, 90), st.integers(0, 3 * 24 * 60))
SETTINGS = hypothesis_settings(max_examples=30, stateful_step_count=25, deadline=None)


@dataclass(frozen=True)
class Sent:
    """A prompt as the service last sent it (the model), and which life it is in: the first
    send starts life 1, and sending it again after a withdrawal starts the next."""

    expects: frozenset[str]
    sent_at: datetime
    expires_at: datetime
    withdrawn: bool
    life: int

    def live_at(self, when: datetime) -> bool:
        """Could a reply received `when` concern it at all (answer, repeat or be late)?"""
        return not self.withdrawn and self.sent_at <= when


@dataclass(frozen=True)
class Delivered:
    """A message as first delivered, the sender's prompts (by reference) at that moment, and
    the status its processing returned."""

    message: InboundMessage
    prompts: dict[str, Sent]
    status: Status


@dataclass(frozen=True)
class NewReply:
    who: int  # which of the example's two senders
    text: str
    late: int  # minutes before the clock: received out of order


@dataclass(frozen=True)
class Redelivery:
    pick: int  # which earlier message, counted back from the newest (modulo how many)


@dataclass(frozen=True)
class Again:
    """A new message saying what an earlier processed one said, from the same number ("YES",
    then "yes!" an hour later): most such are repeats."""

    pick: int  # which earlier processed message, counted back from the newest


@dataclass
class World:
    """What the examples share: one event loop this test owns, one database, the rules."""

    loop: asyncio.AbstractEventLoop
    sessions: async_sessionmaker[AsyncSession]
    rules: CompiledRules
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)


new_replies = st.builds(
    NewReply,
    who=st.integers(0, 1),
    text=st.sampled_from(TEXTS),
    # Mostly received just now; sometimes earlier than replies already processed.
    late=st.one_of(st.just(0), st.integers(0, 3 * 60)),
)
# One reply in five or so is a redelivery of an earlier message, one in five the same again.
replies = st.one_of(
    new_replies,
    new_replies,
    new_replies,
    st.builds(Redelivery, pick=st.integers(0, 100)),
    st.builds(Again, pick=st.integers(0, 100)),
)


class Lifecycles(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        numbers = [next(world.numbers) for _ in range(2)]
        self.senders = tuple(f"+44770091{n:04d}" for n in numbers)
        self.tag = f"lc{numbers[0]}"  # prefixes this example's message ids
        self.clock = T0
        self.prompts: dict[tuple[str, str], Sent] = {}  # (sender, reference) -> as last sent
        self.delivered: dict[str, Delivered] = {}  # provider message id -> first delivery
        self.count = 0

    # --- the service ---------------------------------------------------------------------

    @initialize(expects=st.sets(st.sampled_from(EXPECTS), min_size=1), lasts=LASTS)
    def first_reminders(self, expects: set[RuleAction], lasts: int) -> None:
        """Each example starts with a reminder to each of its numbers, so replies meet one."""
        for who in range(len(self.senders)):
            self.send(who, REFERENCES[0], expects, lasts)

    @rule(
        who=st.integers(0, 1),
        reference=st.sampled_from(REFERENCES),
        expects=st.sets(st.sampled_from(EXPECTS), min_size=1),
        lasts=LASTS,
    )
    def send(self, who: int, reference: str, expects: set[RuleAction], lasts: int) -> None:
        """The service sends a prompt, or sends it again (new times, maybe other expects)."""
        sender = self.senders[who]
        before = self.prompts.get((sender, reference))
        life = 1 if before is None else before.life + int(before.withdrawn)
        sent = Sent(
            frozenset(expects),
            self.clock,
            self.clock + timedelta(minutes=lasts),
            withdrawn=False,
            life=life,
        )
        self._upsert(sender, reference, sent)

    @precondition(lambda self: bool(self.prompts))
    @rule(data=st.data(), keep_times=st.booleans())
    def send_again_with_other_expects(self, data: st.DataObject, keep_times: bool) -> None:
        """The service corrects a prompt's expects, as a resend now or with its times as they
        were (replies received since it was first sent still count)."""
        sender, reference = data.draw(st.sampled_from(sorted(self.prompts)))
        before = self.prompts[(sender, reference)]
        others = [
            frozenset(one)
            for one in ({RuleAction.confirm}, {RuleAction.cancel}, set(EXPECTS))
            if frozenset(one) != before.expects
        ]
        expects = data.draw(st.sampled_from(others))
        sent = replace(
            before, expects=expects, withdrawn=False, life=before.life + int(before.withdrawn)
        )
        if not keep_times:
            sent = replace(sent, sent_at=self.clock, expires_at=self.clock + timedelta(days=1))
        self._upsert(sender, reference, sent)

    @rule(who=st.integers(0, 1), reference=st.sampled_from(REFERENCES))
    def withdraw(self, who: int, reference: str) -> None:
        sender = self.senders[who]
        found = self.world.run(self._withdraw(sender, reference))
        before = self.prompts.get((sender, reference))
        assert (found is None) == (before is None), "withdraw finds exactly the prompts sent"
        if before is not None:
            self.prompts[(sender, reference)] = replace(before, withdrawn=True)

    # --- the replies -----------------------------------------------------------------------

    @rule(
        after=AFTER,
        batches=st.lists(st.lists(replies, min_size=1, max_size=3), min_size=1, max_size=2),
        together=st.booleans(),
    )
    def replies_arrive(
        self, after: int, batches: list[list[NewReply | Redelivery | Again]], together: bool
    ) -> None:
        """`after` minutes on, batches of replies reach the rules worker; two batches are two
        workers at once."""
        self._deliver(after, batches, together)

    @rule(after=AFTER, reply=replies)
    def a_reply_arrives(self, after: int, reply: NewReply | Redelivery | Again) -> None:
        """`after` minutes on, one reply, processed on its own."""
        self._deliver(after, [[reply]], together=False)

    @rule(
        after=AFTER,
        who=st.integers(0, 1),
        texts=st.lists(st.sampled_from(ANSWER_TEXTS), min_size=2, max_size=2),
        together=st.booleans(),
    )
    def two_workers_take_answers_from_one_number(
        self, after: int, who: int, texts: list[str], together: bool
    ) -> None:
        """Two replies from one number reach two workers at once: only one of them may
        answer the prompt (docs/prompts.md, "How a reply is matched")."""
        batches: list[list[NewReply | Redelivery | Again]] = [
            [NewReply(who, text, late=0)] for text in texts
        ]
        self._deliver(after, batches, together)

    @precondition(lambda self: bool(self.delivered))
    @rule(after=AFTER, pick=st.integers(0, 100))
    def redelivered_beside_the_same_words_again(self, after: int, pick: int) -> None:
        """One batch: an earlier reply delivered again, then the same words again from its
        number. The first copy's stored decision stands; the new reply must not be decided
        from a second decision of the old one (docs/prompts.md)."""
        said = list(self.delivered.values())[-1 - pick % len(self.delivered)].message
        again = NewReply(self.senders.index(said.sender), said.text, late=0)
        self._deliver(after, [[Redelivery(pick), again]], together=True)

    def _deliver(
        self, after: int, batches: list[list[NewReply | Redelivery | Again]], together: bool
    ) -> None:
        self.clock += timedelta(minutes=after)
        earlier = [one.message for one in self.delivered.values()]
        acted = [one.message for one in self.delivered.values() if one.status is Status.PROCESSED]
        fresh: list[InboundMessage] = []
        work: list[list[InboundMessage]] = []
        for batch in batches:
            messages: dict[str, InboundMessage] = {}
            for item in batch:
                message = self._message_for(item, earlier, acted, fresh)
                if message is None:
                    continue
                # A message twice in one batch is taken out of it by the worker (`_split`).
                messages.setdefault(message.provider_message_id, message)
            if messages:
                work.append(list(messages.values()))
        if not work:
            return
        event(f"workers at once: {len(work)}")
        done = self.world.run(self._workers(work, together))
        statuses: dict[str, list[Status]] = defaultdict(list)
        for batch_sent, results in zip(work, done, strict=True):
            for message, result in zip(batch_sent, results, strict=True):
                statuses[message.provider_message_id].append(result.status)
                event(f"status {result.status}")
        for message in fresh:
            got = statuses[message.provider_message_id]
            [status] = [one for one in got if one is not Status.DUPLICATE]  # stored by one
            snapshot = {
                reference: sent
                for (sender, reference), sent in self.prompts.items()
                if sender == message.sender
            }
            self.delivered[message.provider_message_id] = Delivered(message, snapshot, status)
        for message in earlier:
            assert set(statuses.get(message.provider_message_id, [])) <= {Status.DUPLICATE}

    def _message_for(
        self,
        item: NewReply | Redelivery | Again,
        earlier: list[InboundMessage],
        acted: list[InboundMessage],
        fresh: list[InboundMessage],
    ) -> InboundMessage | None:
        """The message an item stands for (a new one is added to `fresh`); None when there is
        nothing earlier to deliver again or repeat yet."""
        if isinstance(item, Redelivery):
            # An earlier message again, or one another worker has at the same time.
            pool = earlier + fresh
            return pool[-1 - item.pick % len(pool)] if pool else None  # recent ones mostly
        if isinstance(item, Again):
            if not acted:
                return None
            said = acted[-1 - item.pick % len(acted)]
            item = NewReply(self.senders.index(said.sender), said.text, late=0)
        message = self._new_message(item)
        fresh.append(message)
        return message

    # --- what must hold ---------------------------------------------------------------------

    @invariant()
    def database_agrees(self) -> None:
        stored = self.world.run(self._load())
        self._check_messages(stored)
        self._check_prompt_rows(stored)
        answers = self._check_outcomes(stored)
        self._check_callbacks(stored)
        self._check_answered_states(stored, answers)
        self._check_repeats(stored, answers)

    def _check_messages(self, stored: Stored) -> None:
        ids = Counter(row.provider_message_id for row in stored.messages)
        assert ids == Counter(self.delivered.keys()), f"stored once each: {ids}"
        for row in stored.messages:
            delivered = self.delivered[row.provider_message_id]
            assert row.status == delivered.status, (row.provider_message_id, row.status)
            assert (row.outcome is not None) == (row.status == Status.PROCESSED), row.status
            assert row.reviewed == (row.status == Status.REVIEW), row.status
            if row.status == Status.REPEAT:
                assert not stored.actions.get(row.id), "a repeat has no actions"

    def _check_prompt_rows(self, stored: Stored) -> None:
        rows = {(row.recipient, row.reference): row for row in stored.prompts}
        assert rows.keys() == self.prompts.keys()
        for key, sent in self.prompts.items():
            row = rows[key]
            assert frozenset(row.expects) == sent.expects, key
            assert (row.sent_at, row.expires_at) == (sent.sent_at, sent.expires_at), key
            assert (row.state == PromptState.WITHDRAWN) == sent.withdrawn, (key, row.state)

    def _check_outcomes(self, stored: Stored) -> dict[Life, list[Answered]]:
        """Each automatic outcome against the prompts as its reply saw them; the outcomes that
        answered a prompt, by the prompt's life."""
        answers: dict[Life, list[Answered]] = defaultdict(list)
        references = {row.id: row.reference for row in stored.prompts}
        for row in stored.messages:
            action = row.outcome
            if action is None:
                continue
            delivered = self.delivered[row.provider_message_id]
            received = delivered.message.received_at
            if action not in ANSWERS:
                # Opt-out acts whatever a prompt asked, and answers none.
                assert action in STANDING_ACTIONS, action
                assert self._callback_prompts(stored, row.id) == [None], "opt-out answers none"
                continue
            if row.prompt_id is None:
                live = [ref for ref, sent in delivered.prompts.items() if sent.live_at(received)]
                assert not live, f"{action} answered no prompt though {live} were live"
                assert self._callback_prompts(stored, row.id) == [None], "it answered none"
                continue
            reference = references[row.prompt_id]
            sent = delivered.prompts.get(reference)
            assert sent is not None, f"answered {reference}, not sent when the reply came"
            assert sent.live_at(received), f"answered {reference}: withdrawn or sent later"
            assert received <= sent.expires_at, f"answered {reference} after it expired"
            assert action in sent.expects, (
                f"{action} answered {reference}, which expected {sorted(sent.expects)}"
            )
            callbacks = self._callback_prompts(stored, row.id)
            assert callbacks == [reference], f"the answer to {reference} had callbacks {callbacks}"
            answers[(row.sender, reference, sent.life)].append((row.id, action))
        for key, found in answers.items():
            assert len(found) == 1, f"{len(found)} outcomes answered {key}"
        return answers

    def _check_callbacks(self, stored: Stored) -> None:
        per_life: Counter[Life] = Counter()
        for row in stored.messages:
            delivered = self.delivered[row.provider_message_id]
            for reference in self._callback_prompts(stored, row.id):
                if reference is not None:
                    sent = delivered.prompts.get(reference)
                    assert sent is not None, f"a callback names {reference}, not yet sent"
                    per_life[(row.sender, reference, sent.life)] += 1
        assert all(count == 1 for count in per_life.values()), per_life

    def _check_answered_states(self, stored: Stored, answers: dict[Life, list[Answered]]) -> None:
        rows = {(row.recipient, row.reference): row for row in stored.prompts}
        for (sender, reference), sent in self.prompts.items():
            row = rows[(sender, reference)]
            found = answers.get((sender, reference, sent.life), [])
            if row.state == PromptState.ANSWERED:
                assert found == [(row.answer_message_id, row.answer_action)], (reference, found)
            elif row.state == PromptState.OPEN:
                assert not found, f"{reference} is open though {found} answered it"

    def _check_repeats(self, stored: Stored, answers: dict[Life, list[Answered]]) -> None:
        """A repeat names a prompt that an earlier reply answered in the same life: otherwise
        a reply that should have acted (or gone to a person) was lost as "nothing new"."""
        references = {row.id: row.reference for row in stored.prompts}
        for row in stored.messages:
            if row.status != Status.REPEAT:
                continue
            assert row.prompt_id is not None, f"{row.provider_message_id} repeats no prompt"
            reference = references[row.prompt_id]
            sent = self.delivered[row.provider_message_id].prompts.get(reference)
            assert sent is not None, f"{row.provider_message_id} repeats {reference}, not sent"
            assert answers.get((row.sender, reference, sent.life)), (
                f"{row.provider_message_id} repeats an answer {reference} never had in this life"
            )

    @staticmethod
    def _callback_prompts(stored: Stored, message_id: int) -> list[str | None]:
        """The prompt reference each callback of a message names (None: it answers none)."""
        return [
            None if event["prompt"] is None else event["prompt"]["reference"]
            for kind, event in stored.actions.get(message_id, [])
            if kind == ActionKind.CALLBACK
        ]

    # --- doing it for real ---------------------------------------------------------------------

    def _new_message(self, reply: NewReply) -> InboundMessage:
        self.count += 1
        received = self.clock - timedelta(minutes=reply.late)
        return InboundMessage(
            provider="generic",
            provider_message_id=f"{self.tag}-{self.count}",
            sender=self.senders[reply.who],
            recipient=SERVICE_NUMBER,
            text=reply.text,
            received_at=received,
            accepted_at=received + timedelta(seconds=2),
        )

    def _upsert(self, sender: str, reference: str, sent: Sent) -> None:
        prompt = Prompt(
            service=SERVICE,
            recipient=sender,
            reference=reference,
            expects=frozenset(RuleAction(name) for name in sent.expects),
            sent_at=sent.sent_at,
            expires_at=sent.expires_at,
            text="Reminder: reply YES or CANCEL",
        )
        self.world.run(self._store(prompt))
        self.prompts[(sender, reference)] = sent

    async def _store(self, prompt: Prompt) -> None:
        async with self.world.sessions.begin() as session:
            await prompt_writes.store(session, [prompt])

    async def _withdraw(self, sender: str, reference: str) -> object:
        async with self.world.sessions.begin() as session:
            return await Prompts(session).withdraw(SERVICE, reference, sender)

    async def _workers(
        self, work: Sequence[list[InboundMessage]], together: bool
    ) -> list[list[Result]]:
        return list(await asyncio.gather(*(self._worker(batch, together) for batch in work)))

    async def _worker(self, batch: list[InboundMessage], together: bool) -> list[Result]:
        sessions, rules = self.world.sessions, self.world.rules
        if together:
            try:
                return await process_batch(sessions, rules, batch)
            except (PromptsChanged, SQLAlchemyError) as error:
                # As the rules worker does: one by one, which decides each reply again.
                event(f"batch fell back to one by one ({type(error).__name__})")
        return [await process_message(sessions, rules, message) for message in batch]

    async def _load(self) -> Stored:
        """What the database holds for this example's senders: a few column queries on one
        connection (this runs after every step)."""
        mine = Message.sender.in_(self.senders)
        async with self.world.sessions() as session:
            messages = await session.execute(
                select(
                    Message.id,
                    Message.provider_message_id,
                    Message.sender,
                    Message.status,
                    Message.prompt_id,
                    Outcome.action,
                    ReviewItem.id.is_not(None),
                )
                .outerjoin(Outcome, Outcome.message_id == Message.id)
                .outerjoin(ReviewItem, ReviewItem.message_id == Message.id)
                .where(mine)
            )
            actions = await session.execute(
                select(Action.message_id, Action.kind, Action.payload).join(Message).where(mine)
            )
            prompts = (
                await session.execute(
                    select(
                        PromptRow.id,
                        PromptRow.recipient,
                        PromptRow.reference,
                        PromptRow.expects,
                        PromptRow.sent_at,
                        PromptRow.expires_at,
                        PromptRow.state,
                        PromptRow.answer_message_id,
                        PromptRow.answer_action,
                    ).where(PromptRow.recipient.in_(self.senders))
                )
            ).all()
            by_message: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
            for message_id, kind, payload in actions:
                by_message[message_id].append((kind, payload.get("event", {})))
            return Stored(
                messages=[MessageSeen(*row) for row in messages],
                actions=by_message,
                prompts=[PromptSeen(*row) for row in prompts],
            )


@dataclass(frozen=True)
class MessageSeen:
    id: int
    provider_message_id: str
    sender: str
    status: str
    prompt_id: int | None
    outcome: str | None  # the outcome's action
    reviewed: bool  # has a review item


@dataclass(frozen=True)
class PromptSeen:
    id: int
    recipient: str
    reference: str
    expects: list[str]
    sent_at: datetime
    expires_at: datetime
    state: str
    answer_message_id: int | None
    answer_action: str | None


@dataclass(frozen=True)
class Stored:
    """What the database holds for one example's senders."""

    messages: list[MessageSeen]
    actions: dict[int, list[tuple[str, dict[str, Any]]]]  # message id -> (kind, event)
    prompts: list[PromptSeen]


def test_prompt_lifecycles_keep_one_answer_per_prompt(
    database_url: str, rules: CompiledRules
) -> None:
    """A sync test with its own event loop: hypothesis drives the rules synchronously, and each
    step runs its database work to completion on that loop (one engine, one loop)."""
    service = rules.service(SERVICE)
    assert service is not None
    assert not service.prompts.allow_change  # else a changed answer may act again
    loop = asyncio.new_event_loop()
    engine = create_engine(database_url)
    try:
        world = World(loop, session_factory(engine), rules)

        class OnThisDatabase(Lifecycles):
            def __init__(self) -> None:
                super().__init__(world)

        run_state_machine_as_test(OnThisDatabase, settings=SETTINGS)
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
