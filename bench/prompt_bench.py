"""Prompts at scale (issue 15): many open prompts loaded fast, what looking up and matching a
reply's prompts costs among them, and the files and bodies of a 100,000-prompt import.

bench/run.py starts the processes and calls these (`make bench`; `--only prompts`); this module
holds the database work and the data, so the numbers here are the ones both sides use.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bulk_load import connection as _connection
from bulk_load import drop_indexes
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.message import InboundMessage
from inbound.outcome import Route, Status, route
from inbound.rules.compiled import CompiledRules
from inbound.rules.load import load_directory
from inbound.rules.match import Matcher
from inbound.rules.model import ServiceRules
from inbound.store.database import create_engine, session_factory
from inbound.store.prompts import Prompts
from inbound.worker.process import process_batch

SERVICE = "bench"  # the service of bench/rules.py's twenty_rules (it owns OUR_NUMBER)
EXPECTS = ("cancel", "confirm")
TEXT = (
    "Reminder: your appointment is on 3 December at 09:30 at Mill Lane surgery. "
    "Reply YES to confirm or CANCEL to cancel."
)
INDEX = "uq_prompts_service_recipient_reference"  # what a reply's lookup should use
REPLY = "yes"  # the bench service's confirm rule, which the loaded prompts expect


def reply_sender(n: int) -> str:
    """The n-th number that both has an open prompt and sends a reply in the end-to-end runs."""
    return f"+447701{n:06d}"


def other_number(n: int) -> str:
    """The n-th number of the rest of the loaded prompts (and of the imported ones)."""
    return f"+4478{n:08d}"


def answers(texts: Sequence[str], rules: ServiceRules) -> list[str]:
    """The replies among `texts` that answer a loaded prompt (the rules confirm or cancel them
    automatically), so that every reply of a run looks up a prompt and records its answer."""
    matcher = Matcher(rules)
    found = []
    for reply in texts:
        decision = matcher.decide(reply)
        if decision.automatic and decision.action in EXPECTS:
            found.append(reply)
    if not found:
        raise RuntimeError("no reply in the corpus confirms or cancels")
    return found


async def load(database_url: str, total: int, senders: int) -> dict[str, float]:
    """Store `total` open prompts of the bench service in one INSERT … SELECT: one each for
    `reply_sender(0 .. senders-1)`, the rest to `other_number(senders .. total-1)`; then
    ANALYZE, as autovacuum would soon after, so the planner knows the table's size.

    Generated in the server, so no rows cross the connection; and the table's indexes, as the
    migrations made them, are dropped first and built again after (sorting once): together about
    a third faster than inserting into the indexes (18 s against 12.5 for a million, quiet).
    """
    if not 0 <= senders <= total:
        raise ValueError(f"{senders} reply senders don't fit in {total} prompts")
    async with _connection(database_url) as connection:
        started = time.perf_counter()
        rebuild = await drop_indexes(connection, "prompts")
        await connection.execute(
            text(
                """
                INSERT INTO prompts (service_id, recipient, reference, expects, sent_at,
                                     expires_at, text, state, created_at, updated_at)
                SELECT :service,
                       CASE WHEN g < :senders THEN '+447701' || lpad(g::text, 6, '0')
                            ELSE '+4478' || lpad(g::text, 8, '0') END,
                       'bench-' || g, CAST(:expects AS json), now() - interval '1 day',
                       now() + interval '14 days', :text, 'open', now(), now()
                FROM generate_series(0, :total - 1) AS g
                """
            ),
            {
                "service": SERVICE,
                "senders": senders,
                "expects": json.dumps(list(EXPECTS)),
                "text": TEXT,
                "total": total,
            },
        )
        await connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in rebuild:
            await connection.execute(text(statement))
        await connection.commit()
        inserted = time.perf_counter() - started
        await connection.execute(text("ANALYZE prompts"))
        await connection.commit()
        seconds = time.perf_counter() - started
        stored = await connection.scalar(text("SELECT count(*) FROM prompts WHERE state = 'open'"))
    if stored != total:
        raise RuntimeError(f"loaded {stored} open prompts, not {total}")
    return {
        "prompts": total,
        "insert_seconds": inserted,
        "seconds": seconds,
        "rate": total / inserted,
    }


async def truncate(database_url: str) -> None:
    """Empty the prompts table, as a fresh database has it."""
    async with _connection(database_url) as connection:
        await connection.execute(text("TRUNCATE prompts"))
        await connection.commit()


async def database_counts(database_url: str) -> dict[str, int]:
    """Messages by status, prompts answered and prompt updates (HOT or not): what a run did."""
    async with _connection(database_url) as connection:
        rows = await connection.execute(text("SELECT status, count(*) FROM messages GROUP BY 1"))
        counts = {f"messages_{status}": int(n) for status, n in rows}
        answered = await connection.scalar(
            text("SELECT count(*) FROM prompts WHERE state = 'answered'")
        )
        # Updates of prompts rows, and how many were HOT (no index entry written): an answer
        # that can't be HOT writes every index of a million-row table.
        updates = (
            await connection.execute(
                text(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                    "WHERE relname = 'prompts'"
                )
            )
        ).one()
    return {
        **counts,
        "answered": int(answered or 0),
        "prompt_updates": int(updates[0]),
        "prompt_hot_updates": int(updates[1]),
    }


async def prompt_count(database_url: str) -> int:
    """How many prompts the database holds."""
    async with _connection(database_url) as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM prompts")) or 0)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value at least `fraction` of them are <=."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


@dataclass(frozen=True)
class Timed:
    """One reply's lookup and match on one database: how long, and what it decided."""

    seconds: float
    decided: Route


async def lookup_latency(
    with_prompts: str, without: str, rules_dir: Path, numbers: Sequence[str], warmup: int
) -> dict[str, Any]:
    """Per reply, the lookup of its sender's prompts for the service and the match, as the
    rules worker does them (`Prompts.for_senders`, then `inbound.outcome.route` with what it
    found), timed on a database holding the loaded prompts and on one with none, interleaved
    reply by reply so both see the same machine. Each reply's sender has one open prompt in
    the first; the reply is "yes", which it expects. The first `warmup` replies are discarded."""
    rules = CompiledRules(load_directory(rules_dir))
    service = rules.service(SERVICE)
    if service is None:
        raise RuntimeError(f"the bench's rules have no service {SERVICE!r}")
    engines = [create_engine(url) for url in (with_prompts, without)]
    try:
        sessions = [session_factory(engine)() for engine in engines]
        times: list[list[float]] = [[], []]
        for index, number in enumerate(numbers):
            message = InboundMessage(
                provider="twilio",
                provider_message_id=f"SM{uuid.uuid4().hex}",
                sender=number,
                recipient=service.service.numbers[0],
                text=REPLY,
                received_at=datetime.now(UTC),
            )
            # Alternate which database goes first, so neither always follows the other.
            order = (0, 1) if index % 2 == 0 else (1, 0)
            for which in order:
                timed = await _timed(sessions[which], rules, message)
                _check(timed.decided, has_prompt=which == 0)
                if index >= warmup:
                    times[which].append(timed.seconds)
        # Index scans in this transaction on the loaded database: the lookups used the index.
        scans = await sessions[0].scalar(
            text(f"SELECT pg_stat_get_xact_numscans('{INDEX}'::regclass)")
        )
        for session in sessions:
            await session.rollback()
            await session.close()
    finally:
        for engine in engines:
            await engine.dispose()
    loaded, empty = ([1000 * s for s in series] for series in times)
    figure: dict[str, Any] = {"replies": len(loaded), "index_scans": int(scans or 0)}
    for name, series in (("loaded", loaded), ("empty", empty)):
        figure[name] = {
            "p50_ms": percentile(series, 0.50),
            "p99_ms": percentile(series, 0.99),
            "mean_ms": statistics.fmean(series),
        }
    figure["added_p50_ms"] = figure["loaded"]["p50_ms"] - figure["empty"]["p50_ms"]
    figure["added_p99_ms"] = figure["loaded"]["p99_ms"] - figure["empty"]["p99_ms"]
    figure["p99_ratio"] = figure["loaded"]["p99_ms"] / figure["empty"]["p99_ms"]
    return figure


async def _timed(session: AsyncSession, rules: CompiledRules, message: InboundMessage) -> Timed:
    started = time.perf_counter()
    pair = (SERVICE, message.sender)
    found = await Prompts(session).for_senders([pair])
    decided = route(rules, message, prompts=[stored.prompt for stored in found.get(pair, [])])
    return Timed(time.perf_counter() - started, decided)


def _check(decided: Route, has_prompt: bool) -> None:
    """The bench measures what it says: with a prompt the reply answers it, without, none."""
    if decided.status is not Status.PROCESSED:
        raise RuntimeError(f"the bench reply was not acted on: {decided.review_reason}")
    if has_prompt and decided.transition is None:
        raise RuntimeError("the bench reply did not answer its sender's open prompt")
    if not has_prompt and decided.matched is not None:
        raise RuntimeError("a prompt was found in the database that should have none")


async def batch_alternation(
    with_prompts: str,
    without: str,
    rules_dir: Path,
    numbers: Sequence[str],
    texts: Sequence[str],
    size: int,
    warmup: int,
) -> dict[str, Any]:
    """A rules worker's batch alone (`process_batch`: lookup, decisions, the answers' UPDATE,
    commit) on the loaded database and on the empty one, alternated batch by batch, so both see
    the same moments of the machine and its drift in speed, which moves the end-to-end pairs,
    cancels out. Batches of `size` replies from `numbers` in order (each with one open prompt
    in the first, loaded one after another: the worst order for HOT answers), `texts` in turn;
    the first `warmup` batches of each are discarded."""
    rules = CompiledRules(load_directory(rules_dir))
    service = rules.service(SERVICE)
    if service is None:
        raise RuntimeError(f"the bench's rules have no service {SERVICE!r}")
    engines = [create_engine(url) for url in (with_prompts, without)]
    times: list[list[float]] = [[], []]
    try:
        sessions = [session_factory(engine) for engine in engines]
        for index, first in enumerate(range(0, len(numbers) - size + 1, size)):
            messages = [
                InboundMessage(
                    provider="twilio",
                    provider_message_id=f"SM{uuid.uuid4().hex}",
                    sender=number,
                    recipient=service.service.numbers[0],
                    text=texts[(first + i) % len(texts)],
                    received_at=datetime.now(UTC),
                )
                for i, number in enumerate(numbers[first : first + size])
            ]
            for which in (0, 1) if index % 2 == 0 else (1, 0):
                started = time.perf_counter()
                results = await process_batch(sessions[which], rules, messages)
                seconds = time.perf_counter() - started
                if any(result.status is not Status.PROCESSED for result in results):
                    raise RuntimeError("a bench reply in a batch was not acted on")
                if index >= warmup:
                    times[which].append(1000 * seconds)
    finally:
        for engine in engines:
            await engine.dispose()
    if not times[0]:
        raise RuntimeError(f"{len(numbers)} numbers make no timed batch of {size}")
    loaded, empty = (statistics.median(series) for series in times)
    return {
        "batches": len(times[0]),
        "size": size,
        "loaded_median_ms": loaded,
        "empty_median_ms": empty,
        "ratio": empty / loaded,
    }


# --- the import's data -------------------------------------------------------------------------


def import_rows(count: int) -> Iterator[dict[str, Any]]:
    """`count` prompts as a service would send them (numbers apart from the loaded ones)."""
    expires = (datetime.now(UTC) + timedelta(days=14)).isoformat(timespec="seconds")
    for n in range(count):
        yield {
            "to": other_number(50_000_000 + n),
            "reference": f"import-{n}",
            "expects": list(EXPECTS),
            "expires_at": expires,
            "text": TEXT,
        }


def api_batches(count: int, size: int) -> list[bytes]:
    """The JSON array bodies of POST /api/prompts, `size` prompts each."""
    rows = list(import_rows(count))
    return [json.dumps(rows[i : i + size]).encode() for i in range(0, count, size)]


def write_csv(path: Path, count: int) -> None:
    """The same prompts as a CSV file for `inbound prompts import`."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["to", "reference", "expects", "expires_at", "text"])
        for row in import_rows(count):
            expects = ",".join(row["expects"])
            writer.writerow([row["to"], row["reference"], expects, row["expires_at"], row["text"]])
