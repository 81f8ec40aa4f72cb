"""`inbound rules replay` over messages really stored in SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from inbound.cli import main
from inbound.message import InboundMessage
from inbound.outcome import Status
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.store.database import create_engine, session_factory
from inbound.store.history import messages_for_service
from inbound.worker.process import process_message
from tests.conftest import EXAMPLE_RULES

SENDER = "+447700900123"
SURGERY = "+447700900000"
# What the surgery ran before the example rules: fewer keywords, and two we now read differently.
OLD_RULES = """\
service:
  id: appointments
  name: Riverside Surgery appointments
  region: GB
  numbers: ["+447700900000"]
rules:
  - name: confirm
    keywords: ["yes", maybe]
    action: confirm
  - name: cancel
    keywords: ["no", ok]
    action: cancel
"""
# (id, text, days ago, what the old rules did)
HISTORY = [
    ("m-yes", "Yes", 1, Status.PROCESSED),
    ("m-thumb", "👍", 1, Status.REVIEW),  # the example rules confirm it
    ("m-typo", "cancle", 2, Status.REVIEW),  # the example rules forgive the typo
    ("m-maybe", "maybe", 2, Status.PROCESSED),  # confirmed before; a person decides now
    ("m-ok", "OK", 3, Status.PROCESSED),  # cancelled before; confirmed now
    ("m-question", "what is this?", 3, Status.REVIEW),  # a person decides, as before
    ("m-old", "yep", 30, Status.REVIEW),  # older than --since
]


def stored_message(
    provider_id: str, text: str, days_ago: float, to: str = SURGERY
) -> InboundMessage:
    return InboundMessage(
        provider="generic",
        provider_message_id=provider_id,
        sender=SENDER,
        recipient=to,
        text=text,
        received_at=datetime.now(UTC) - timedelta(days=days_ago),
    )


async def store_history(database_url: str, old_rules: Path) -> None:
    rules = CompiledRules(load_directory(old_rules))
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        for provider_id, text, days_ago, expected in HISTORY:
            result = await process_message(
                sessions, rules, stored_message(provider_id, text, days_ago)
            )
            assert result.status == expected, (text, result)
        # Another service's message is never replayed.
        other = stored_message("m-other", "yes", 1, to="+447700900009")
        assert (await process_message(sessions, rules, other)).status == Status.REVIEW
    finally:
        await engine.dispose()


@pytest.fixture
def old_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "old-rules"
    folder.mkdir()
    (folder / "appointments.yaml").write_text(OLD_RULES, encoding="utf-8")
    return folder


def test_history_reads_a_services_messages_with_their_fate(
    database_url: str, old_rules: Path
) -> None:
    asyncio.run(store_history(database_url, old_rules))

    async def read() -> list[tuple[str, str | None, str | None]]:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                since = datetime.now(UTC) - timedelta(days=7)
                found = messages_for_service(session, "appointments", [SURGERY], since, batch=2)
                return [(m.provider_message_id, m.action, m.review_reason) async for m in found]
        finally:
            await engine.dispose()

    rows = asyncio.run(read())
    assert [row[0] for row in rows] == [
        "m-ok",
        "m-question",
        "m-typo",
        "m-maybe",
        "m-yes",
        "m-thumb",
    ]  # oldest first
    fates = {provider_id: (action, reason) for provider_id, action, reason in rows}
    assert fates["m-yes"] == ("confirm", None)
    assert fates["m-ok"] == ("cancel", None)
    assert fates["m-thumb"][0] is None
    assert fates["m-thumb"][1]


def test_replay_prints_what_the_new_rules_would_change(
    database_url: str,
    old_rules: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(store_history(database_url, old_rules))
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    code = main(["rules", "replay", str(EXAMPLE_RULES / "appointments.yaml"), "--since", "7"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "replayed 6 messages for service appointments from the last 7 days" in out
    assert "automatic before: 3, with these rules: 4" in out
    assert "review items these rules would handle: 2" in out
    assert "automatic outcomes these rules would send to review: 1" in out
    assert "automatic outcomes these rules would change: 1" in out
    assert "unchanged: 2" in out
    assert "replies with prompts: 0, decided otherwise than without them: 0" in out
    changes = out.split("changes:")[1]
    assert 'review -> confirm  "👍"' in changes
    assert 'review -> cancel  "cancle"' in changes
    assert 'confirm -> review  "maybe"' in changes
    assert 'cancel -> confirm  "OK"' in changes
    assert "yep" not in out  # older than --since
    assert "+44********23" in out
    assert SENDER not in out  # numbers are masked


def test_replay_skips_purged_text(
    database_url: str,
    old_rules: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(store_history(database_url, old_rules))

    async def purge() -> None:
        from sqlalchemy import update

        from inbound.store.models import Message

        engine = create_engine(database_url)
        try:
            async with session_factory(engine).begin() as session:
                await session.execute(
                    update(Message).where(Message.provider_message_id == "m-ok").values(text=None)
                )
        finally:
            await engine.dispose()

    asyncio.run(purge())
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    assert main(["rules", "replay", str(EXAMPLE_RULES / "appointments.yaml")]) == 0
    out = capsys.readouterr().out
    assert "replayed 5 messages" in out
    assert "(1 with text purged, skipped)" in out


# Replies in context: the prompts each sender had been sent, stored after the replies were
# processed (so the old run decided them without prompts, as before prompts existed).
ALICE, BOB, CAROL, DAVE = SENDER, "+447700900456", "+447700900789", "+447700900321"
# (id, sender, text, days ago, what the old rules did)
REPLIES = [
    ("p-alice-yes", ALICE, "Yes", 2, Status.PROCESSED),  # answered appt-1; still confirm
    ("p-alice-ok", ALICE, "OK", 1, Status.PROCESSED),  # cancel before; the same answer now
    ("p-bob", BOB, "no", 2, Status.PROCESSED),  # cancel, but appt-2 expects only confirm
    ("p-carol", CAROL, "cancle", 2, Status.REVIEW),  # her reminder came after it: cancel
    ("p-dave", DAVE, "👍", 1, Status.REVIEW),  # his reminder was withdrawn: confirm
]


async def store_replies_and_prompts(database_url: str, old_rules: Path) -> None:
    from inbound.prompts.matching import Transition
    from inbound.prompts.model import Prompt
    from inbound.rules.model import Action
    from inbound.store import prompt_writes
    from inbound.store.models import Message
    from inbound.store.prompts import Prompts

    rules = CompiledRules(load_directory(old_rules))
    now = datetime.now(UTC)

    def prompt(reference: str, to: str, days_ago: float) -> Prompt:
        sent = now - timedelta(days=days_ago)
        return Prompt(
            service="appointments",
            recipient=to,
            reference=reference,
            expects=frozenset({Action.confirm}),
            sent_at=sent,
            expires_at=sent + timedelta(days=10),
        )

    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        for provider_id, sender, text, days_ago, expected in REPLIES:
            message = stored_message(provider_id, text, days_ago).model_copy(
                update={"sender": sender}
            )
            result = await process_message(sessions, rules, message)
            assert result.status == expected, (text, result)
        async with sessions.begin() as session:
            prompts = Prompts(session)
            stored = await prompt_writes.store(
                session,
                [
                    prompt("appt-1", ALICE, 3),
                    prompt("appt-2", BOB, 3),
                    prompt("appt-3", CAROL, 1),
                    prompt("appt-9", DAVE, 3),
                ],
            )
            await prompts.withdraw("appointments", "appt-9", DAVE)
            # Alice's "Yes" answered appt-1, as the rules worker records it.
            yes = await session.scalar(
                select(Message).where(Message.provider_message_id == "p-alice-yes")
            )
            assert yes is not None
            before = stored[0].prompt
            answer = Transition(before, before.answered(Action.confirm, yes.received_at))
            assert await prompts.record_answer(answer, yes.id)
    finally:
        await engine.dispose()


async def snapshot(database_url: str) -> list[list[tuple[object, ...]]]:
    """Every row of the tables a replay reads, to show it wrote nothing."""
    from inbound.store.models import Message, Outcome, PromptRow, ReviewItem

    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            tables = []
            for model in (Message, Outcome, ReviewItem, PromptRow):
                rows = await session.execute(select(model.__table__).order_by(model.id))
                tables.append([tuple(row) for row in rows])
            return tables
    finally:
        await engine.dispose()


def test_replay_decides_each_reply_with_the_prompts_its_sender_had_been_sent(
    database_url: str,
    old_rules: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(store_replies_and_prompts(database_url, old_rules))
    before = asyncio.run(snapshot(database_url))
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    code = main(["rules", "replay", str(EXAMPLE_RULES / "appointments.yaml")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "replayed 5 messages" in out
    assert "replies with prompts: 3, decided otherwise than without them: 2" in out
    assert "repeated answers (no second outcome) before: 0, with these rules: 1" in out
    assert "automatic before: 3, with these rules: 3" in out
    assert "automatic outcomes these rules would send to review: 1" in out
    assert "unchanged: 1" in out
    changes = out.split("changes:")[1]
    # The reply that answered appt-1 is not a repeat of itself: it is unchanged.
    assert '"Yes"' not in changes
    assert 'cancel -> repeat  "OK"' in changes
    assert "now: repeats the answer already given to reminder appt-1: confirm" in changes
    assert "prompt: appt-1, expects confirm" in changes
    # Bob's reminder expects only confirm: his "no" goes to a person, who sees which reminder.
    assert '+44********56  cancel -> review  "no"' in changes
    assert (
        "now: not one of the answers this reminder asked for: cancel (reminder appt-2 expects "
        "confirm)"
    ) in changes
    # Carol's reminder was sent after her reply, Dave's was withdrawn: the rules decide.
    assert '+44********89  review -> cancel  "cancle"' in changes
    assert '+44********21  review -> confirm  "👍"' in changes
    assert asyncio.run(snapshot(database_url)) == before  # a replay writes nothing


async def caseworkers_decide(database_url: str) -> None:
    """Review items decided as the review desk stores it: the item closed with the decision
    and who made it, and a decision with an action also an outcome (rule "caseworker")."""
    from inbound.states import ReviewState
    from inbound.store.messages import Messages
    from inbound.store.models import Message, ReviewItem
    from inbound.store.review import ReviewQueue
    from inbound.store.users import Scope

    scope = Scope(
        user_id=7, email="cw@example.org", roles={"appointments": "caseworker"}, unassigned=False
    )
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            for provider_id, decision in [
                ("m-question", "cancel"),  # the new rules still leave it to a person
                ("m-thumb", "confirm"),  # the new rules confirm it, as the caseworker did
                ("m-typo", "dismissed"),  # the new rules cancel it; the caseworker didn't
            ]:
                message = await session.scalar(
                    select(Message).where(Message.provider_message_id == provider_id)
                )
                assert message is not None
                item = await session.scalar(
                    select(ReviewItem.id).where(ReviewItem.message_id == message.id)
                )
                assert item is not None
                state = ReviewState.DISMISSED if decision == "dismissed" else ReviewState.RESOLVED
                assert await ReviewQueue(session).close(scope, item, state, decision, None)
                if decision != "dismissed":
                    await Messages(session).add_outcome(
                        message, "appointments", decision, "caseworker", {}
                    )
    finally:
        await engine.dispose()


def test_replay_counts_caseworkers_decisions_apart_from_automatic_outcomes(
    database_url: str,
    old_rules: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    asyncio.run(store_history(database_url, old_rules))
    asyncio.run(caseworkers_decide(database_url))
    monkeypatch.setenv("INBOUND_DATABASE_URL", database_url)
    new_rules = str(EXAMPLE_RULES / "appointments.yaml")
    assert main(["rules", "replay", new_rules, "--since", "7"]) == 0
    out = capsys.readouterr().out
    # The caseworker's cancel of "what is this?" is not an automatic outcome.
    assert "automatic before: 3, with these rules: 4" in out
    assert (
        "decided by caseworkers before: 2, dismissed by them: 1; these rules would act on 2 of "
        "them, 1 as the caseworker did" in out
    )
    assert "review items these rules would handle: 2" in out
    assert "unchanged: 2" in out
    assert "caseworker decided: dismissed" in out.split('"cancle"')[1]

    assert main(["rules", "replay", new_rules, "--since", "7", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["automatic"] == {"before": 3, "after": 4}
    assert found["caseworkers"] == {
        "decided": 2,
        "dismissed": 1,
        "rules_act_as_caseworker": 1,
        "rules_act_otherwise": 1,
    }
    changes = {change["text"]: change for change in found["changes"]}
    assert changes["cancle"] | {"reason": ""} == {
        "received_at": changes["cancle"]["received_at"],
        "from": "+44********23",
        "text": "cancle",
        "before": "review",
        "caseworker": "dismissed",
        "after": "cancel",
        "reason": "",
    }
    assert changes["👍"]["caseworker"] == "confirm"
    assert "what is this?" not in changes  # review before and now: unchanged
