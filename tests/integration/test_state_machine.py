"""A hypothesis state machine over accept / deliver / crash / redeliver, against the real
"process a message" use case and a real (SQLite) database; RabbitMQ's part is modelled by its
contract: unacked deliveries come back after a crash. Invariants: every stored message was
accepted, none is stored twice, at most one side effect per message and action; after draining,
the stored set equals the accepted set."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from inbound.message import InboundMessage
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.store.database import create_engine, session_factory
from inbound.store.models import Action, Message
from inbound.worker.process import process_message
from tests.integration.test_actions import ALPHA, rules_dir

IDS = st.sampled_from([f"sm-{n}" for n in range(8)])
TEXTS = st.sampled_from(["cancel", "yes", "what?"])


def test_accept_deliver_crash_redeliver_keeps_the_contract(
    sqlite_template: Path, tmp_path: Path
) -> None:
    rules = CompiledRules(load_directory(rules_dir(tmp_path, [("alpha", ALPHA, "http://x/")])))

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copy(sqlite_template, path)
            self.loop = asyncio.new_event_loop()
            self.engine = create_engine(f"sqlite+aiosqlite:///{path}")
            self.sessions = session_factory(self.engine)
            self.accepted: set[str] = set()
            self.ready: list[InboundMessage] = []
            self.unacked: list[InboundMessage] = []

        def run(self, coroutine):  # type: ignore[no-untyped-def]
            return self.loop.run_until_complete(coroutine)

        @rule(message_id=IDS, text=TEXTS)
        def accept(self, message_id: str, text: str) -> None:
            # A provider may send the same message again (a retry): accepted twice, one id.
            self.accepted.add(message_id)
            self.ready.append(
                InboundMessage(
                    provider="generic",
                    provider_message_id=message_id,
                    sender="+447700900123",
                    recipient=ALPHA,
                    text=text,
                    received_at=datetime.now(UTC),
                )
            )

        @rule()
        def deliver(self) -> None:
            if self.ready:
                self.unacked.append(self.ready.pop(0))

        @rule()
        def process_and_ack(self) -> None:
            if self.unacked:
                self.run(process_message(self.sessions, rules, self.unacked.pop(0)))

        @rule()
        def crash_after_commit_before_ack(self) -> None:
            if self.unacked:
                self.run(process_message(self.sessions, rules, self.unacked[0]))
            self.crash()

        @rule()
        def crash(self) -> None:
            self.ready = self.unacked + self.ready  # RabbitMQ redelivers what wasn't acked
            self.unacked = []

        async def stored(self) -> list[str]:
            async with self.sessions() as session:
                return list((await session.scalars(select(Message.provider_message_id))).all())

        async def effects(self) -> Counter[tuple[int, str]]:
            async with self.sessions() as session:
                rows = (await session.execute(select(Action.message_id, Action.kind))).all()
            return Counter((message_id, kind) for message_id, kind in rows)

        @invariant()
        def stored_once_and_only_if_accepted(self) -> None:
            stored = self.run(self.stored())
            assert len(stored) == len(set(stored))
            assert set(stored) <= self.accepted

        @invariant()
        def at_most_one_side_effect_per_message_and_action(self) -> None:
            assert all(count == 1 for count in self.run(self.effects()).values())

        def teardown(self) -> None:
            try:
                while self.ready or self.unacked:
                    self.deliver()
                    self.process_and_ack()
                assert set(self.run(self.stored())) == self.accepted
            finally:
                self.run(self.engine.dispose())
                self.loop.close()

    run_state_machine_as_test(
        Machine,
        settings=hypothesis_settings(max_examples=30, stateful_step_count=25, deadline=None),
    )
