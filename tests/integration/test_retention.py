"""`inbound purge` on real SQLite and PostgreSQL: past each service's retention a message's
text, its outcome's captures and its finished actions' payloads go; ids, outcomes' actions and
rules, review items and opt-outs stay, and a pending action keeps what it still has to send.
Age counts from when inbound accepted a message, whatever time the provider stated."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from inbound.cli import main
from inbound.message import InboundMessage, Part
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.states import ActionState
from inbound.store.database import create_engine, session_factory
from inbound.store.models import (
    Action,
    Message,
    MessagePart,
    OptOut,
    Outcome,
    PromptRow,
    ReviewItem,
)
from inbound.worker.process import process_message
from tests.conftest import EXAMPLE_RULES

SENDER = "+447700900123"
SURGERY = "+447700900000"  # appointments: retention_days 7
COUNCIL = "+447700900001"  # street-reports: retention_days 30
NOBODY = "+447700900999"  # no service: the default 7 days
REPORT = "REPORT broken gate behind 14 Mill Lane"


def accepted(
    provider_id: str,
    text: str,
    days_ago: float,
    to: str = SURGERY,
    stated: datetime | None = None,
    part: Part | None = None,
) -> InboundMessage:
    """A message inbound accepted `days_ago`, whose provider stated `stated` (default: then)."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    return InboundMessage(
        provider="generic",
        provider_message_id=provider_id,
        sender=SENDER,
        recipient=to,
        text=text,
        received_at=stated or when,
        accepted_at=when,
        part=part,
    )


# Short names keep the table below readable.
DELIVERED, FAILED = ActionState.DELIVERED, ActionState.FAILED
PENDING, SUPPRESSED = ActionState.PENDING, ActionState.SUPPRESSED


@dataclass(frozen=True)
class Stored:
    """One message's rows after processing and after a purge."""

    text: str | None
    outcome: tuple[str, str, dict[str, Any]] | None  # action, rule, captures
    actions: dict[str, tuple[str, dict[str, Any]]]  # kind -> state, payload
    review: bool


# (id, text, to, days ago, the states its callback and reply end in)
HISTORY: list[tuple[str, str, str, float, dict[str, str]]] = [
    ("old-report", REPORT, SURGERY, 10, {"callback": DELIVERED, "reply": FAILED}),
    ("old-suppressed", REPORT, SURGERY, 10, {"callback": FAILED, "reply": SUPPRESSED}),
    ("old-pending", REPORT, SURGERY, 10, {"callback": PENDING, "reply": DELIVERED}),
    ("old-stop", "STOP", SURGERY, 10, {"callback": DELIVERED, "reply": DELIVERED}),
    ("fresh-report", REPORT, SURGERY, 2, {"callback": DELIVERED, "reply": DELIVERED}),
    ("council-report", REPORT, COUNCIL, 10, {"callback": DELIVERED, "reply": DELIVERED}),
    ("old-unowned", "hello?", NOBODY, 10, {}),
]


async def _store_history(database_url: str) -> None:
    rules = CompiledRules(load_directory(EXAMPLE_RULES))
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        for provider_id, text, to, days_ago, states in HISTORY:
            await process_message(sessions, rules, accepted(provider_id, text, days_ago, to))
            async with sessions.begin() as session:
                message_id = await session.scalar(
                    select(Message.id).where(Message.provider_message_id == provider_id)
                )
                for kind, state in states.items():
                    await session.execute(
                        update(Action)
                        .where(Action.message_id == message_id, Action.kind == kind)
                        .values(state=state)
                    )
    finally:
        await engine.dispose()


async def _read(database_url: str) -> dict[str, Stored]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            found = {}
            for message in (await session.scalars(select(Message))).all():
                outcome = await session.scalar(
                    select(Outcome).where(Outcome.message_id == message.id)
                )
                actions = (
                    await session.scalars(select(Action).where(Action.message_id == message.id))
                ).all()
                review = await session.scalar(
                    select(ReviewItem.id).where(ReviewItem.message_id == message.id)
                )
                found[message.provider_message_id] = Stored(
                    text=message.text,
                    outcome=(outcome.action, outcome.rule, outcome.captures) if outcome else None,
                    actions={a.kind: (a.state, a.payload) for a in actions},
                    review=review is not None,
                )
            return found
    finally:
        await engine.dispose()


async def _ids_and_opt_outs(database_url: str) -> tuple[list[Any], list[tuple[str, str]]]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(
                    Action.id, Action.idempotency_key, Action.recipient, Action.message_id
                ).order_by(Action.id)
            )
            opt_outs = await session.execute(select(OptOut.service_id, OptOut.number))
            return [tuple(row) for row in rows], [tuple(row) for row in opt_outs]
    finally:
        await engine.dispose()


async def _finish(database_url: str, provider_id: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            message_id = select(Message.id).where(Message.provider_message_id == provider_id)
            await session.execute(
                update(Action)
                .where(Action.message_id.in_(message_id), Action.state == PENDING)
                .values(state=DELIVERED)
            )
    finally:
        await engine.dispose()


@pytest.fixture
def history(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database with HISTORY processed by the example rules; `inbound purge` pointed at it."""
    asyncio.run(_store_history(database_url))
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    monkeypatch.setenv("INBOUND_RULES_DIR", str(EXAMPLE_RULES))
    return database_url


def _purge(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["purge"]) == 0
    return capsys.readouterr().out


def test_purge_clears_text_captures_and_finished_payloads_past_retention(
    history: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = asyncio.run(_read(history))
    ids_before = asyncio.run(_ids_and_opt_outs(history))
    assert before["old-report"].outcome == (
        "report",
        "report",
        {"details": "broken gate behind 14 Mill Lane"},
    )
    assert "Mill Lane" in before["old-report"].actions["reply"][1]["text"]

    out = _purge(capsys)

    after = asyncio.run(_read(history))
    # Three old appointments' reports and the STOP, plus the unowned message: five texts.
    assert "purged the text of 5 messages and 0 message parts" in out
    # STOP captured nothing; the old-pending callback still has to be delivered.
    assert "the captures of 3 outcomes and the payloads of 7 finished actions" in out
    for old in ("old-report", "old-suppressed", "old-pending", "old-stop", "old-unowned"):
        assert after[old].text is None
    for old in ("old-report", "old-suppressed", "old-pending"):
        assert after[old].outcome == ("report", "report", {})
    assert after["old-stop"].outcome == ("opt_out", "stop", {})
    assert after["old-report"].actions == {"callback": (DELIVERED, {}), "reply": (FAILED, {})}
    assert after["old-suppressed"].actions == {
        "callback": (FAILED, {}),
        "reply": (SUPPRESSED, {}),
    }
    assert after["old-stop"].actions == {"callback": (DELIVERED, {}), "reply": (DELIVERED, {})}
    # A callback still to be delivered keeps its event; its delivered reply doesn't keep text.
    assert after["old-pending"].actions["callback"] == before["old-pending"].actions["callback"]
    assert after["old-pending"].actions["reply"] == (DELIVERED, {})
    # Inside their retention: untouched (the council keeps 30 days).
    assert after["fresh-report"] == before["fresh-report"]
    assert after["council-report"] == before["council-report"]
    # Ids, keys, recipients, review items and the opt-out register stay.
    assert asyncio.run(_ids_and_opt_outs(history)) == ids_before
    assert ids_before[1] == [("appointments", SENDER)]
    assert after["old-unowned"].review


def test_a_pending_action_is_purged_on_the_first_purge_after_it_finishes(
    history: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _purge(capsys)
    again = _purge(capsys)
    assert "the text of 0 messages" in again  # nothing is cleared twice
    assert "the captures of 0 outcomes and the payloads of 0 finished actions" in again

    asyncio.run(_finish(history, "old-pending"))
    out = _purge(capsys)

    assert "the captures of 0 outcomes and the payloads of 1 finished actions" in out
    assert asyncio.run(_read(history))["old-pending"].actions["callback"] == (DELIVERED, {})


FUTURE, PAST = datetime(2099, 1, 1, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC)


async def _store_with_stated_times(database_url: str) -> None:
    rules = CompiledRules(load_directory(EXAMPLE_RULES))
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        for message in (
            accepted("says-2099-accepted-10-days-ago", "hello", 10, stated=FUTURE),
            accepted("says-2001-accepted-now", "hello", 0, stated=PAST),
            # Parts of long messages that never completed: one of each kind.
            accepted(
                "part-2099",
                "first half",
                10,
                stated=FUTURE,
                part=Part(reference="a", total=2, number=1),
            ),
            accepted(
                "part-2001",
                "first half",
                0,
                stated=PAST,
                part=Part(reference="b", total=2, number=1),
            ),
        ):
            await process_message(sessions, rules, message)
    finally:
        await engine.dispose()


async def _texts(database_url: str) -> dict[str, str | None]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            messages = await session.execute(select(Message.provider_message_id, Message.text))
            parts = await session.execute(select(MessagePart.provider_message_id, MessagePart.text))
            return {row[0]: row[1] for row in [*messages, *parts]}
    finally:
        await engine.dispose()


def test_retention_counts_from_when_inbound_accepted_not_the_stated_time(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A provider stating 2099 can't keep a text for ever; one stating 2001 can't get it purged
    on arrival. Parts of long messages likewise."""
    asyncio.run(_store_with_stated_times(database_url))
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    monkeypatch.setenv("INBOUND_RULES_DIR", str(EXAMPLE_RULES))

    out = _purge(capsys)

    assert "purged the text of 1 messages and 1 message parts" in out
    assert asyncio.run(_texts(database_url)) == {
        "says-2099-accepted-10-days-ago": None,
        "says-2001-accepted-now": "hello",
        "part-2099": None,
        "part-2001": "first half",
    }


# --- prompts (issue 15) -----------------------------------------------------------------------

# (reference, days since sent, days until it expires (negative: ago), state)
PROMPTS: list[tuple[str, float, float, str]] = [
    ("old-open", 10, 5, "open"),  # past retention, still open: loses its text only
    ("old-expired", 10, -3, "open"),  # past retention and expired: gone
    ("old-answered", 10, 5, "answered"),  # past retention and answered: gone
    ("old-withdrawn", 10, 5, "withdrawn"),  # past retention and withdrawn: gone
    ("fresh-expired", 2, -1, "open"),  # inside retention (7 days): untouched
]


async def _store_prompts(database_url: str) -> None:
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            for reference, sent_days, expires_days, state in PROMPTS:
                sent = now - timedelta(days=sent_days)
                session.add(
                    PromptRow(
                        service_id="appointments",
                        recipient=SENDER,
                        reference=reference,
                        expects=["confirm"],
                        sent_at=sent,
                        expires_at=now + timedelta(days=expires_days),
                        text=f"Reminder {reference}",
                        state=state,
                        created_at=sent,
                        updated_at=sent,
                    )
                )
    finally:
        await engine.dispose()


async def _prompt_texts(database_url: str) -> dict[str, str | None]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.scalars(select(PromptRow))).all()
            return {row.reference: row.text for row in rows}
    finally:
        await engine.dispose()


def test_purge_clears_old_prompts_texts_and_forgets_the_ones_done_with(
    history: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_store_prompts(history))
    out = _purge(capsys)
    assert "the text of 1 prompts and 3 finished prompts" in out
    assert asyncio.run(_prompt_texts(history)) == {
        "old-open": None,
        "fresh-expired": "Reminder fresh-expired",
    }
