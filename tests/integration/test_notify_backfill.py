"""The Notify poller against the fake Notify over real HTTP, real RabbitMQ and a running
inbound, on SQLite and PostgreSQL (issue 17: nothing Notify gave up on is lost)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from inbound.backfill.client import ReceivedTexts
from inbound.backfill.poll import messages_for, walk
from inbound.backfill.walk import Ended, Walk
from inbound.config import Settings
from inbound.store.models import Message
from tests.integration.conftest import Stack, running_stack
from tests.integration.notify_backfill_support import (
    CALLBACK_TOKEN,
    KEY_ENV,
    NOTIFY_NUMBER,
    SERVICE,
    Clock,
    durable_on,
    notify_messages,
    notify_rules,
    poller_on,
    received_pages,
)
from tests.integration.provider_support import nothing_stored
from tests.support.fake_notify import FakeNotify, FakeNotifyService, ReceivedText
from tests.support.process import silent_listener
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

EVERY = timedelta(minutes=5)


@pytest.fixture
async def stack(
    settings: Settings, tmp_path: Path, fake_notify: FakeNotify
) -> AsyncIterator[Stack]:
    """inbound with the `notified` service and /webhooks/notify on; the worker's own poller off
    (these tests drive one by hand)."""
    changed = {
        "rules_dir": notify_rules(tmp_path),
        "notify_base_url": fake_notify.url,
        "notify_inbound_tokens": SecretStr(CALLBACK_TOKEN),
        "notify_poll_every": 0.0,
    }
    async with running_stack(settings.model_copy(update=changed)) as started:
        yield started


def texts(
    notify: FakeNotify, service: FakeNotifyService, count: int, *, newest: datetime, step: float
) -> list[ReceivedText]:
    """`count` texts to the service's number, `step` minutes apart, the newest at `newest`."""
    return [
        notify.add_received(
            service,
            f"4477009{n:05d}",
            "yes",
            notify_number=NOTIFY_NUMBER,
            created_at=newest - timedelta(minutes=step * n),
        )
        for n in range(count)
    ]


async def stored(stack: Stack, ids: set[str]) -> dict[str, int]:
    return await eventually(
        lambda: notify_messages(stack), lambda found: ids <= found.keys(), within=60
    )


async def test_poll_publishes_the_missing_texts_across_pages_then_stops_at_known_ones(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    now = datetime.now(UTC)
    clock = Clock(now - 2 * EVERY)
    poller = await poller_on(stack, settings, key, fake_notify.url, clock)
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    # The service's first poll: Notify has nothing yet (see the next test for what it skips).
    primed = await poller.poll(target)
    assert primed is not None
    assert (primed.read, primed.ended) == (0, Ended.END)

    clock.advance(2 * EVERY)
    first = texts(fake_notify, service, 600, newest=now, step=1)  # 250 + 250 + 100
    walked = await poller.poll(target)
    assert walked is not None
    assert (walked.pages, walked.read, walked.published) == (4, 600, 600)  # 4th page: empty
    assert walked.ended is Ended.END
    counts = await stored(stack, {t.id for t in first})
    assert set(counts.values()) == {1}
    sample = await stack.message(first[0].id)
    assert sample is not None
    assert (sample.sender, sample.recipient, sample.text) == (
        "+447700900000",
        "+447700900000",
        "yes",
    )
    assert sample.service_id == SERVICE

    # Not due again within INBOUND_NOTIFY_POLL_EVERY: nothing is asked of Notify.
    asked = len(received_pages(fake_notify.requests))
    assert await poller.poll(target) is None
    assert len(received_pages(fake_notify.requests)) == asked

    # Five new texts; the next poll reads one page and stops at the first text older than the
    # previous poll (less 10 minutes) that inbound has.
    clock.advance(EVERY)
    new = texts(fake_notify, service, 5, newest=clock.now, step=0.5)
    walked = await poller.poll(target)
    assert walked is not None
    assert (walked.pages, walked.published, walked.ended) == (1, 5, Ended.KNOWN)
    assert received_pages(fake_notify.requests)[asked:] == ["/v2/received-text-messages"]
    counts = await stored(stack, {t.id for t in new})
    assert len(counts) == 605
    assert set(counts.values()) == {1}


async def test_the_first_poll_of_a_service_publishes_only_its_last_minutes(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    """What Notify kept from before inbound took the service's texts was answered elsewhere:
    the first poll leaves it (a backfill fetches it on purpose), and takes the last minutes."""
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    now = datetime.now(UTC)
    texts(fake_notify, service, 3, newest=now - timedelta(hours=2), step=30)
    recent = texts(fake_notify, service, 2, newest=now, step=1)
    poller = await poller_on(stack, settings, key, fake_notify.url, Clock(now))
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    walked = await poller.poll(target)
    assert walked is not None
    assert (walked.read, walked.published, walked.ended) == (2, 2, Ended.SINCE)
    await stored(stack, {t.id for t in recent})
    await nothing_stored(stack, expected=2)


async def test_a_poll_after_an_outage_looks_past_the_texts_callbacks_brought_since(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    clock = Clock(datetime.now(UTC))
    poller = await poller_on(stack, settings, key, fake_notify.url, clock)
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    first = await poller.poll(target)  # Notify has nothing yet: all it had is covered
    assert first is not None
    assert first.ended is Ended.END
    # Callbacks failed for three texts (Notify gave up on them), then came back for two more,
    # which inbound stored: the newest texts inbound has are newer than the missing ones.
    missed = texts(fake_notify, service, 3, newest=clock.now - timedelta(seconds=1), step=0.01)
    url = stack.base_url + "/webhooks/notify"
    brought = texts(fake_notify, service, 2, newest=clock.now + timedelta(seconds=1), step=0.01)
    for text in brought:
        assert (await fake_notify.post_received_text(url, CALLBACK_TOKEN, text)).delivered
    await stored(stack, {t.id for t in brought})

    clock.advance(EVERY)
    walked = await poller.poll(target)
    assert walked is not None
    assert (walked.read, walked.already, walked.published) == (5, 2, 3)
    counts = await stored(stack, {t.id for t in missed + brought})
    assert counts == dict.fromkeys((t.id for t in missed + brought), 1)


async def test_a_poll_notify_refuses_or_does_not_answer_is_told_and_tried_again_later(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    clock = Clock(datetime.now(UTC))
    batch = texts(fake_notify, service, 3, newest=clock.now - timedelta(minutes=1), step=1)
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    with silent_listener() as port:  # a Notify that accepts the connection and never answers
        hung = await poller_on(stack, settings, key, f"http://127.0.0.1:{port}", clock)
        walked = await hung.poll(target)
    assert walked is not None
    assert walked.ended is None
    assert walked.failure == "Notify unreachable: timeout after 5 s"
    fake_notify.revoke(key)
    poller = await poller_on(stack, settings, key, fake_notify.url, clock)
    assert await poller.poll(target) is None  # tried again only after INBOUND_NOTIFY_POLL_EVERY
    clock.advance(EVERY)
    walked = await poller.poll(target)
    assert walked is not None
    assert walked.failure == "Notify answered 403: Invalid token: API key revoked"
    assert await notify_messages(stack) == {}

    # None of the polls got to its end, so this is still the service's first: it takes the
    # texts of its last minutes (the three, arrived just now) and leaves older ones.
    older = batch
    batch = texts(fake_notify, service, 3, newest=clock.now + EVERY, step=1)
    clock.advance(EVERY)
    renewed = await poller_on(
        stack, settings, fake_notify.mint_key(service), fake_notify.url, clock
    )
    walked = await renewed.poll(target)
    assert walked is not None
    assert (walked.published, walked.ended) == (3, Ended.SINCE)
    await stored(stack, {t.id for t in batch})
    assert not {t.id for t in older} & set(await notify_messages(stack))


async def test_of_several_processes_polling_at_once_one_reads_notify(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    batch = texts(fake_notify, service, 10, newest=datetime.now(UTC), step=1)
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    pollers = [await poller_on(stack, settings, key, fake_notify.url) for _ in range(4)]
    results = await asyncio.gather(*(poller.poll(target) for poller in pollers))
    polled = [walked for walked in results if walked is not None]
    assert len(polled) == 1
    assert polled[0].published == 10
    assert len(received_pages(fake_notify.requests)) == 2  # the page, then the empty one
    counts = await stored(stack, {t.id for t in batch})
    assert set(counts.values()) == {1}


async def test_poll_reads_back_no_further_than_notify_keeps_texts(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    now = datetime.now(UTC)
    kept = texts(fake_notify, service, 1, newest=now - timedelta(days=5), step=1)
    old = texts(fake_notify, service, 1, newest=now - timedelta(days=6, hours=1), step=1)
    # A day on, the second text is past Notify's 7 days (the fake still lists it: its own
    # retention counts from its clock, which is now). The service was first polled now.
    clock = Clock(now)
    poller = await poller_on(stack, settings, key, fake_notify.url, clock)
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    assert await poller.poll(target) is not None
    clock.advance(timedelta(days=1))
    walked = await poller.poll(target)
    assert walked is not None
    assert (walked.read, walked.published, walked.ended) == (1, 1, Ended.SINCE)
    await stored(stack, {kept[0].id})
    await nothing_stored(stack, expected=1)
    assert old[0].id not in await notify_messages(stack)


async def test_callback_and_poll_together_store_each_text_once(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    batch = texts(fake_notify, service, 20, newest=datetime.now(UTC), step=0.1)
    target = stack.running.rules().service(SERVICE)
    assert target is not None
    client = ReceivedTexts(stack.http, fake_notify.url, key, 5.0)
    durable = await durable_on(stack, settings)

    async def none_yet(ids: list[str]) -> set[str]:
        return set()  # the race at its worst: the poll looked before any callback was stored

    url = stack.base_url + "/webhooks/notify"
    deliveries = [fake_notify.post_received_text(url, CALLBACK_TOKEN, t) for t in batch]
    plan = Walk(datetime.now(UTC) - timedelta(days=7), until_known=True)
    messages = messages_for(target, stack.running.rules, settings.default_region)
    walking = asyncio.create_task(walk(client.page, none_yet, durable, plan, messages))
    delivered = await asyncio.gather(*deliveries)
    walked = await walking
    assert all(d.delivered for d in delivered)
    assert (walked.published, walked.ended) == (20, Ended.END)
    counts = await stored(stack, {t.id for t in batch})
    await nothing_stored(stack, expected=20)
    assert counts == dict.fromkeys((t.id for t in batch), 1)
    # And the poll proper, afterwards, finds them all and publishes nothing.
    poller = await poller_on(stack, settings, key, fake_notify.url)
    again = await poller.poll(target)
    assert again is not None
    assert (again.published, again.already, again.ended) == (0, 1, Ended.KNOWN)


async def test_every_text_arrives_by_the_poll_while_the_callback_path_is_down(
    settings: Settings,
    tmp_path: Path,
    fake_notify: FakeNotify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test: inbound runs with its own poller (every second); Notify's callbacks go
    # through a proxy that is cut for a while, so Notify gives up on the texts of that time.
    service = fake_notify.add_service()
    monkeypatch.setenv(KEY_ENV, fake_notify.mint_key(service))
    changed = {
        "rules_dir": notify_rules(tmp_path),
        "notify_base_url": fake_notify.url,
        "notify_inbound_tokens": SecretStr(CALLBACK_TOKEN),
        "notify_poll_every": 1.0,
    }
    async with running_stack(settings.model_copy(update=changed)) as stack:
        port = stack.running.port
        assert port is not None
        proxy = TcpProxy("127.0.0.1", port)
        await proxy.start()
        url = f"http://127.0.0.1:{proxy.port}/webhooks/notify"

        async def arrive(content: str) -> tuple[ReceivedText, bool]:
            text = fake_notify.add_received(
                service, "447700900123", content, notify_number=NOTIFY_NUMBER
            )
            delivery = await fake_notify.post_received_text(url, CALLBACK_TOKEN, text)
            return text, delivery.delivered

        before = [await arrive(f"yes before {n}") for n in range(3)]
        await proxy.cut()
        during = [await arrive(f"yes during {n}") for n in range(5)]
        await proxy.restore()
        after = [await arrive(f"yes after {n}") for n in range(3)]
        await proxy.cut()

        assert all(ok for _, ok in before + after)
        assert not any(ok for _, ok in during)  # every try of every callback failed
        everything = {text.id for text, _ in before + during + after}
        counts = await stored(stack, everything)
        assert counts == dict.fromkeys(everything, 1)
        for text, _ in during:
            message: Message | None = await stack.message(text.id)
            assert message is not None
            assert (message.service_id, message.sender) == (SERVICE, "+447700900123")
            assert message.text == text.content
