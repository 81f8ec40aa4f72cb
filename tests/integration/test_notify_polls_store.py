"""The Notify poller's lease and its "already has" lookup, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.message import InboundMessage
from inbound.store.database import session_factory
from inbound.store.messages import Messages
from inbound.store.notify_polls import Lease, NotifyPolls
from inbound.store.spool import Spool

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
LEASE = timedelta(minutes=2)


async def test_of_processes_asking_at_once_exactly_one_polls_a_service(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)

    async def ask(holder: str) -> bool:
        async with sessions.begin() as session:
            lease = await NotifyPolls(session).claim("svc", holder, NOW, EVERY, LEASE)
            return lease is not None

    won = await asyncio.gather(*(ask(f"process-{n}") for n in range(6)))
    assert sorted(won) == [False] * 5 + [True]


async def test_a_service_is_due_again_only_every_interval_and_a_dead_holder_lapses(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)

    async def claim(holder: str, at: datetime) -> Lease | None:
        async with sessions.begin() as session:
            return await NotifyPolls(session).claim("svc", holder, at, EVERY, LEASE)

    lease = await claim("a", NOW)
    assert lease is not None
    assert lease.covered_to is None  # never polled before
    assert await claim("b", NOW + timedelta(minutes=1)) is None  # held
    async with sessions.begin() as session:
        await NotifyPolls(session).finish(lease, NOW + timedelta(seconds=10), NOW)
    assert await claim("b", NOW + timedelta(minutes=4)) is None  # not due yet
    taken = await claim("b", NOW + timedelta(minutes=5, seconds=10))
    assert taken is not None
    assert taken.covered_to == NOW
    # b dies holding it: once its lease lapses (and the poll is due), c takes over.
    later = NOW + timedelta(minutes=5, seconds=10) + LEASE
    assert await claim("c", later) is None
    assert await claim("c", later + timedelta(seconds=1)) is not None


async def test_a_failed_poll_keeps_its_coverage_and_a_lapsed_holder_can_not_finish(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        polls = NotifyPolls(session)
        lease = await polls.claim("svc", "a", NOW, EVERY, LEASE)
        assert lease is not None
        await polls.finish(lease, NOW, NOW)
        again = await polls.claim("svc", "a", NOW + EVERY, EVERY, LEASE)
        assert again is not None
        await polls.finish(again, NOW + EVERY, None)  # it failed part-way
        taken = await polls.claim("svc", "b", NOW + 2 * EVERY, EVERY, LEASE)
        assert taken is not None
        assert taken.covered_to == NOW
        # a's lease is long gone: it can neither renew nor release b's.
        assert not await polls.renew(again, NOW + 3 * EVERY)
        await polls.finish(again, NOW + 2 * EVERY, NOW + 2 * EVERY)
        assert await polls.renew(taken, NOW + 3 * EVERY)


async def test_known_finds_what_is_stored_or_spooled_for_that_provider_only(
    engine: AsyncEngine,
) -> None:
    def message(provider: str, notify_id: str) -> InboundMessage:
        return InboundMessage(
            provider=provider,
            provider_message_id=notify_id,
            sender="+447700900123",
            recipient="+447700900000",
            text="yes",
            received_at=NOW,
        )

    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await Messages(session).add(message("notify", "stored"), "svc", "processed")
        await Messages(session).add(message("twilio", "elsewhere"), "svc", "processed")
        await Spool(session).add(message("notify", "spooled"))
    async with sessions.begin() as session:
        polls = NotifyPolls(session)
        asked = ["stored", "spooled", "elsewhere", "missing"]
        assert await polls.known("notify", asked) == {"stored", "spooled"}
        assert await polls.known("notify", []) == set()
