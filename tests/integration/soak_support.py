"""The soak's parts: a seeded message mix, supervised `inbound worker` processes, the chaos loop
that kills them and cuts their broker connections, and the checker that counts what was lost and
what happened twice."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.store.models import Action, Message, Outcome, ReviewItem
from tests.integration.reliability_support import queue_depth
from tests.integration.test_actions import ALPHA, BETA
from tests.support.fake_notify import FakeNotify
from tests.support.fake_service import FakeService
from tests.support.process import INBOUND
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

# A number no service owns (its messages go to review); senders come from the reserved drama
# range 07700 900100-998, so no real person's number is ever used.
UNOWNED = "+447700900999"
READY = "rules worker consuming"

# (text, recipient, share): automatic outcomes with a callback (some with a reply) for two
# services, and two kinds of message a person must decide.
MIX: tuple[tuple[str, str, float], ...] = (
    *(
        entry
        for number in (ALPHA, BETA)
        for entry in (
            ("yes", number, 0.175),  # confirm: callback and reply
            ("cancel", number, 0.15),  # cancel: callback
            ("stop", number, 0.025),  # opt-out: callback and reply
            ("start", number, 0.025),  # opt-in: callback and reply
            ("When is my appointment?", number, 0.075),  # no rule matches: review
        )
    ),
    ("yes", UNOWNED, 0.10),  # no service owns the number: review
)
CALLBACK_TEXTS = frozenset({"yes", "cancel", "stop", "start"})


@dataclass(frozen=True)
class Planned:
    """One message the soak publishes."""

    provider_message_id: str
    text: str
    sender: str
    recipient: str

    @property
    def calls_back(self) -> bool:
        """True when the rules decide it automatically, with a callback to the fake service."""
        return self.recipient in (ALPHA, BETA) and self.text in CALLBACK_TEXTS


def plan(count: int, rng: random.Random) -> list[Planned]:
    """`count` messages with unique ids, texts and senders drawn from MIX."""
    texts = [(text, to) for text, to, _ in MIX]
    weights = [share for _, _, share in MIX]
    drawn = rng.choices(texts, weights, k=count)
    return [
        Planned(f"soak-{n:06d}", text, f"+447700900{rng.randrange(100, 999):03d}", to)
        for n, (text, to) in enumerate(drawn)
    ]


class Workers:
    """`count` real `inbound worker` processes, each replaced when the chaos loop kills it."""

    def __init__(self, env: dict[str, str], folder: Path, count: int) -> None:
        self._env = env
        self._folder = folder
        self._count = count
        self._running: list[tuple[asyncio.subprocess.Process, Path]] = []
        self.started = 0
        self.kills = 0

    async def start(self) -> None:
        """Start every worker and wait until each consumes."""
        for _ in range(self._count):
            self._running.append(await self._spawn())

    async def kill_one(self, rng: random.Random) -> None:
        """SIGKILL a random worker, then start its replacement and wait until it consumes."""
        slot = rng.randrange(len(self._running))
        process, _ = self._running[slot]
        process.kill()
        await process.wait()
        self.kills += 1
        self._running[slot] = await self._spawn()

    def check(self) -> None:
        """Fail if a worker exited without being killed: a crash is a finding, not chaos."""
        for process, logs in self._running:
            if process.returncode is not None:
                raise AssertionError(f"{logs.name} exited with {process.returncode}: {_tail(logs)}")

    async def stop(self) -> list[int]:
        """SIGTERM every worker; their exit codes (SIGKILLed after 30 s if one hangs)."""
        codes = []
        for process, _ in self._running:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self._running:
            try:
                codes.append(await asyncio.wait_for(process.wait(), 30))
            except TimeoutError:
                process.kill()
                codes.append(await process.wait())
        self._running.clear()
        return codes

    async def _spawn(self) -> tuple[asyncio.subprocess.Process, Path]:
        self.started += 1
        logs = self._folder / f"worker-{self.started}"
        out = logs.with_suffix(".out")
        # Output goes to files, not pipes: a chatty worker can never block on a full pipe.
        with out.open("w") as stdout, logs.with_suffix(".err").open("w") as stderr:
            process = await asyncio.create_subprocess_exec(
                INBOUND, "worker", env=self._env, stdout=stdout, stderr=stderr
            )

        async def printed() -> str:
            return out.read_text()

        await eventually(
            printed, lambda text: READY in text or process.returncode is not None, within=60
        )
        if process.returncode is not None:
            raise AssertionError(f"{logs.name} exited at start: {_tail(logs)}")
        return process, logs


def _tail(logs: Path) -> str:
    # Worker logs mask phone numbers and never hold message text, so quoting them is safe.
    return "\n".join(logs.with_suffix(".err").read_text(errors="replace").splitlines()[-15:])


@dataclass
class Chaos:
    """What the chaos loop did."""

    cuts: int = 0
    events: list[str] = field(default_factory=list)


async def chaos(
    workers: Workers, proxy: TcpProxy, rng: random.Random, stop: asyncio.Event, done: Chaos
) -> None:
    """Until `stop`: every 1.5-4 s, SIGKILL a random worker (and start another) or cut the
    broker away."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(rng.uniform(1.5, 4.0)):
                await stop.wait()
        if stop.is_set():
            return
        workers.check()
        if rng.random() < 0.6:
            await workers.kill_one(rng)
            done.events.append("kill")
            continue
        await cut(proxy, rng, done)


async def cut(proxy: TcpProxy, rng: random.Random, done: Chaos) -> None:
    """Drop every broker connection and refuse new ones for 1-3 s, as a RabbitMQ restart does."""
    await proxy.cut()
    done.cuts += 1
    done.events.append("cut")
    await asyncio.sleep(rng.uniform(1.0, 3.0))  # deliberate: the broker is away this long
    await proxy.restore()


async def stored(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Messages stored so far."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


@dataclass(frozen=True)
class Progress:
    """How far from drained: every figure is 0 when all work is done."""

    not_stored: int
    not_ended: int
    pending_actions: int
    queued: int


async def progress(
    sessions: async_sessionmaker[AsyncSession], amqp_url: str, namespace: str, expected: int
) -> Progress:
    """What is still to do; the queues are only asked once the database says all is done."""
    async with sessions() as session:
        messages = int(await session.scalar(select(func.count()).select_from(Message)) or 0)
        ended = 0
        for model in (Outcome, ReviewItem):
            ended += int(await session.scalar(select(func.count()).select_from(model)) or 0)
        pending = await session.scalar(
            select(func.count()).select_from(Action).where(Action.state == "pending")
        )
    queued = 0
    if messages == expected and ended >= expected and not pending:
        for queue in ("received", "actions", "dead"):
            queued += await queue_depth(amqp_url, f"{namespace}.{queue}")
    return Progress(expected - messages, expected - ended, int(pending or 0), queued)


@dataclass(frozen=True)
class Run:
    """What the soak did, as the checker reports it."""

    messages: int
    seed: int
    workers: int
    kills: int
    cuts: int
    stored_after: float | None  # seconds until every message was stored (None: never)
    seconds: float  # until drained: every outcome's side effects delivered, queues empty
    drained: bool  # False: the time limit came first


@dataclass(frozen=True)
class Report:
    """The checker's figures; `lost` and `duplicated` break the totals down by kind."""

    run: Run
    outcomes: int
    reviews: int
    callbacks: int
    replies: int
    repeated_callbacks: int
    repeated_replies: int
    lost: dict[str, int]
    duplicated: dict[str, int]

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    @property
    def duplicated_total(self) -> int:
        return sum(self.duplicated.values())

    def summary(self) -> str:
        """One paragraph with every figure, for the test output."""
        run = self.run
        rate = run.messages / run.seconds if run.seconds else 0.0
        stored = "never all stored"
        if run.stored_after is not None:
            stored = f"all stored after {run.stored_after:.0f} s"
        ended = "drained" if run.drained else "gave up"
        return (
            f"soak: {run.messages:,} messages (seed {run.seed}) through {run.workers} "
            f"`inbound worker` processes with {run.kills} SIGKILLs and {run.cuts} broker cuts "
            f"of 1-3 s: {stored}, {ended} after {run.seconds:.0f} s ({rate:.0f} msg/s): "
            f"{self.outcomes:,} outcomes, {self.reviews:,} in review, {self.callbacks:,} "
            f"callbacks and {self.replies:,} replies delivered; lost {self.lost_total}, "
            f"duplicated side effects {self.duplicated_total}; {self.repeated_callbacks} "
            f"callback and {self.repeated_replies} reply deliveries repeated an idempotency key "
            "(a kill between sending and recording; the receiver dedupes)"
            + _breakdown("lost", self.lost)
            + _breakdown("duplicated", self.duplicated)
        )


def _breakdown(name: str, figures: dict[str, int]) -> str:
    found = {key: value for key, value in figures.items() if value}
    return f"; {name}: {found}" if found else ""


def _excess(counts: Iterable[int]) -> int:
    """How many beyond one each: a count of 3 is 2 too many."""
    return sum(count - 1 for count in counts if count > 1)


async def check(
    sessions: async_sessionmaker[AsyncSession],
    published: list[Planned],
    callbacks: FakeService,
    notify: FakeNotify,
    run: Run,
) -> Report:
    """Compare what was published with what the database holds and what the services got."""
    async with sessions() as session:
        rows = (await session.execute(select(Message.id, Message.provider_message_id))).all()
        outcomes = list((await session.scalars(select(Outcome.message_id))).all())
        reviews = list((await session.scalars(select(ReviewItem.message_id))).all())
        actions = (
            await session.execute(
                select(Action.message_id, Action.kind, Action.idempotency_key, Action.state)
            )
        ).all()
    ids = Counter(provider_id for _, provider_id in rows)
    wanted = {item.provider_message_id for item in published}
    endings = Counter([*outcomes, *reviews])
    per_kind = Counter((message_id, kind) for message_id, kind, _, _ in actions)
    callback_rows = {key for _, kind, key, _ in actions if kind == "callback"}
    gave_up = {message_id for message_id, _, _, state in actions if state == "failed"}
    replies = {key: state for _, kind, key, state in actions if kind == "reply"}
    delivered_replies = {key for key, state in replies.items() if state == "delivered"}
    # A reply the worker decided not to send (opted out, capped) or gave up on.
    unsent_replies = {key for key, state in replies.items() if state in ("suppressed", "failed")}
    callback_keys = [request.headers["Idempotency-Key"] for request in callbacks.received]
    # Grouped by what the service sees (provider id and action), not by our row ids: two keys
    # for one message and action would be one side effect done twice.
    keys_per_effect: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for request in callbacks.received:
        event = request.json()
        keys_per_effect[(event["message"]["id"], event["action"])].add(
            request.headers["Idempotency-Key"]
        )
    # What the fake Notify accepted (its JWT check passed) for each reply, by our reference.
    references = [sms.reference for sms in notify.sent]
    expected_callbacks = sum(1 for item in published if item.calls_back)
    lost = {
        "messages not stored": len(wanted - set(ids)),
        "messages with no outcome or review": sum(1 for m, _ in rows if endings[m] == 0),
        "callbacks not recorded": max(0, expected_callbacks - len(callback_rows)),
        "callbacks not delivered": len(callback_rows - set(callback_keys)),
        "replies not delivered": len(delivered_replies - set(references)),
        "actions still pending": sum(1 for *_, state in actions if state == "pending"),
        # The fake services always accept: giving up means a side effect never happened.
        "actions given up": sum(1 for *_, state in actions if state == "failed"),
    }
    duplicated = {
        "message rows": _excess(ids.values()),
        "messages stored that were never published": len(set(ids) - wanted),
        # An outcome whose action gave up gets a review item too: counted above as lost, not
        # as a second ending.
        "messages with an outcome and a review": sum(
            1 for m in endings if endings[m] > 1 and m not in gave_up
        ),
        "action rows per message and kind": _excess(per_kind.values()),
        "callback keys per message and action": _excess(map(len, keys_per_effect.values())),
        "callbacks with no action row": len(set(callback_keys) - callback_rows),
        "replies sent that were not to be sent": len(set(references) & unsent_replies),
        "replies with no action row": len(set(references) - set(replies)),
    }
    return Report(
        run=run,
        outcomes=len(outcomes),
        reviews=len(reviews),
        callbacks=len(set(callback_keys)),
        replies=len(set(references)),
        repeated_callbacks=len(callback_keys) - len(set(callback_keys)),
        repeated_replies=len(references) - len(set(references)),
        lost=lost,
        duplicated=duplicated,
    )
