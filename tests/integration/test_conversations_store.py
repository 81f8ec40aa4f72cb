"""Loading one conversation from PostgreSQL and SQLite: the thread of one (service, number) in
time order, nothing of other numbers or services, purged texts, and the bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.conversation import EntryKind
from inbound.store.conversations import Conversations
from inbound.store.database import session_factory
from inbound.store.models import Action, Message, PromptRow
from inbound.store.users import Users
from tests.support.conversations import NUMBER, REMINDER, add_message, seed_conversation

RECIPIENT = "+447700900001"


async def caseworker(engine: AsyncEngine) -> int:
    async with session_factory(engine).begin() as session:
        return (await Users(session).add("case@alpha.example", "not-a-hash")).id


async def test_the_thread_of_a_number_reads_in_time_order_with_nothing_of_others(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    seeded = await seed_conversation(
        sessions, "alpha", RECIPIENT, caseworker_id=await caseworker(engine), now=now
    )
    async with sessions() as session:
        thread = await Conversations(session).thread("alpha", NUMBER, recipient=RECIPIENT, now=now)
    shown = [(e.kind, e.text, e.reference, e.action, e.delivery, e.by) for e in thread.entries]
    me = "case@alpha.example"
    assert shown == [
        (EntryKind.RECEIVED, "who is this?", None, None, None, None),
        (EntryKind.CASEWORKER_REPLY, "This is Riverside Surgery.", None, None, "delivered", me),
        (EntryKind.DECISION, None, None, "dismissed", None, me),
        (EntryKind.PROMPT, REMINDER, "appt-8812", "confirm", None, None),
        (EntryKind.RECEIVED, "YES", "appt-8812", None, None, None),
        (EntryKind.OUTCOME, None, "appt-8812", "confirm", None, None),
        (EntryKind.AUTO_REPLY, "Thanks, see you then.", None, None, "delivered", None),
        (EntryKind.PROMPT, None, "appt-9001", None, None, None),
        (EntryKind.RECEIVED, "Yes but can I change the time?", "appt-9001", None, None, None),
    ]
    assert [e.item_id for e in thread.entries if e.item_id is not None] == [
        seeded.earlier_item,
        seeded.earlier_item,
        seeded.item,
    ]
    assert thread.entries[2].note == "answered by text"
    assert thread.entries[3].note == "answered"
    assert thread.entries[-1].note == "most likely about appt-9001: the rules send it to review"
    assert [(p.reference, p.expired) for p in thread.open_prompts] == [("appt-9001", False)]
    assert not thread.more


async def test_purged_texts_leave_references_times_and_delivery(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    await seed_conversation(sessions, "alpha", RECIPIENT, caseworker_id=None, now=now)
    async with sessions.begin() as session:
        # What retention leaves (inbound.store.retention): texts NULL, payloads emptied.
        await session.execute(update(Message).values(text=None))
        await session.execute(update(PromptRow).values(text=None))
        await session.execute(update(Action).values(payload={}))
    async with sessions() as session:
        thread = await Conversations(session).thread("alpha", NUMBER, recipient=RECIPIENT, now=now)
    assert len(thread.entries) == 9
    assert all(e.text is None for e in thread.entries)
    said = [e.missing_text for e in thread.entries if e.kind is not EntryKind.OUTCOME]
    assert "text not stored" in said
    assert "text purged" in said
    assert [e.reference for e in thread.entries if e.kind is EntryKind.RECEIVED] == [
        None,
        "appt-8812",
        "appt-9001",
    ]
    # The caseworker's reply is still theirs (the key says so), though no one is named.
    assert [e.delivery for e in thread.entries if e.kind is EntryKind.CASEWORKER_REPLY] == [
        "delivered"
    ]


async def test_only_the_newest_entries_are_loaded_and_more_says_there_are_older(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    start = datetime.now(UTC) - timedelta(days=1)
    async with sessions.begin() as session:
        for n in range(12):
            await add_message(
                session, "alpha", NUMBER, RECIPIENT, f"text {n}", start + timedelta(minutes=n)
            )
    async with sessions() as session:
        loader = Conversations(session)
        bounded = await loader.thread(
            "alpha", NUMBER, recipient=RECIPIENT, now=datetime.now(UTC), limit=5
        )
        whole = await loader.thread(
            "alpha", NUMBER, recipient=RECIPIENT, now=datetime.now(UTC), limit=12
        )
    assert [e.text for e in bounded.entries] == [f"text {n}" for n in range(7, 12)]
    assert bounded.more
    assert len(whole.entries) == 12
    assert not whole.more


async def test_a_number_no_service_owns_is_its_messages_to_that_number(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        await add_message(session, None, NUMBER, "+447700900999", "hello?", now, "review")
        await add_message(session, None, NUMBER, "+447700900998", "elsewhere", now)
        await add_message(session, "alpha", NUMBER, "+447700900999", "alpha's", now)
    async with sessions() as session:
        thread = await Conversations(session).thread(
            None, NUMBER, recipient="+447700900999", now=now
        )
    assert [e.text for e in thread.entries] == ["hello?"]
    assert thread.open_prompts == ()
