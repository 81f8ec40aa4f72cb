"""The review queue at scale (issue 16): many stored messages and open items loaded fast, a
caseworker of their service, and the queue, a filtered queue, an item with a long conversation
and the queue's CSV timed over HTTP against a running `inbound review`.

bench/run.py starts the processes and calls these (`make bench`; `--only review`); this module
holds the database work, the sign-in and the timing, so the numbers here are the ones both use.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pyotp
from bulk_load import connection as _connection
from bulk_load import drop_indexes
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from inbound.review import auth
from inbound.review.reasons import reason_group
from inbound.store.database import create_engine, session_factory
from inbound.store.users import Users

SERVICE = "bench"  # the service of bench/rules.py's twenty_rules (it owns OUR_NUMBER)
OUR_NUMBER = "+447700900000"
TALKER = "+447702000000"  # the number with the long conversation; its newest message is an item
EMAIL = "caseworker@bench.example"
PASSWORD = "bench caseworker passphrase"  # noqa: S105 (a local bench value)
SPREAD_DAYS = 90  # the messages' accepted_at, newest now, spread evenly over this many days
FILTER_DAYS = 30  # the filtered queue: received in the last this many days
# An item's reason by its number k (k % 10): one in ten is the CSV's, so its filter selects a
# tenth of the items (10,000 of 100,000). The CSV's name one of 1,000 reminders, as real ones do:
# 1,000 distinct stored reasons counted as one group, which the reason filter selects by all of
# their texts.
CSV_REASON = "changes an earlier answer to reminder"
CSV_REMINDERS = 1_000
FILTER_REASON = "no rule matched"
OTHER_REASON = "a person decides: manual rule"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TABLES = ("messages", "review_items")


@dataclass(frozen=True)
class Shape:
    """What is loaded: messages over `numbers` senders, `items` of them open review items."""

    messages: int
    items: int
    conversation: int  # messages from TALKER, the newest first

    @property
    def every(self) -> int:
        """One message in `every` (from the newest) has a review item."""
        return max(1, self.messages // max(1, self.items))

    @property
    def numbers(self) -> int:
        return max(1, self.messages // 20)

    @property
    def csv_rows(self) -> int:
        return math.ceil(self.items / 10)


async def load(database_url: str, shape: Shape) -> dict[str, Any]:
    """Store the messages and their open items in two INSERT … SELECT generate_series, with
    both tables' indexes dropped first and built again after; then ANALYZE."""
    if shape.conversation > shape.messages or shape.items * shape.every > shape.messages:
        raise ValueError(f"{shape} does not fit")
    step = SPREAD_DAYS * 86_400 / shape.messages
    async with _connection(database_url) as connection:
        started = time.perf_counter()
        rebuild = [s for table in TABLES for s in await drop_indexes(connection, table)]
        await connection.execute(
            text(
                """
                INSERT INTO messages (provider, provider_message_id, sender, recipient, text,
                                      service_id, status, received_at, accepted_at, stored_at)
                SELECT 'twilio', 'bench-' || g,
                       CASE WHEN g < :conversation THEN :talker
                            ELSE '+447703' || lpad((g % :numbers)::text, 6, '0') END,
                       :ours, 'Yes but can I change the time? It is message ' || g, :service,
                       CASE WHEN g % :every = 0 AND g / :every < :items THEN 'review'
                            ELSE 'processed' END,
                       t, t, t
                FROM generate_series(0, :total - 1) AS g,
                     LATERAL (SELECT now() - g * :step * interval '1 second' AS t) AS at
                """
            ),
            {
                "conversation": shape.conversation,
                "talker": TALKER,
                "numbers": shape.numbers,
                "ours": OUR_NUMBER,
                "service": SERVICE,
                "every": shape.every,
                "items": shape.items,
                "total": shape.messages,
                "step": step,
            },
        )
        await connection.execute(
            text(
                """
                INSERT INTO review_items (message_id, service_id, reason, rule, state, created_at,
                                          received_at)
                SELECT id, service_id,
                       CASE WHEN k % 10 = 0
                                 THEN :csv || ' appt-' || ((k / 10) % :reminders)::text
                                      || ' (confirm to cancel)'
                            WHEN k % 10 < 6 THEN :filtered ELSE :other END,
                       NULL, 'open', accepted_at + interval '1 second', accepted_at
                FROM (SELECT id, service_id, accepted_at,
                             substr(provider_message_id, 7)::int / :every AS k
                      FROM messages WHERE status = 'review') AS m
                ORDER BY accepted_at
                """
            ),
            {
                "csv": CSV_REASON,
                "reminders": CSV_REMINDERS,
                "filtered": FILTER_REASON,
                "other": OTHER_REASON,
                "every": shape.every,
            },
        )
        await connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in rebuild:
            await connection.execute(text(statement))
        await connection.commit()
        inserted = time.perf_counter() - started
        for table in TABLES:
            await connection.execute(text(f"ANALYZE {table}"))
        await connection.commit()
        seconds = time.perf_counter() - started
        counts = (
            await connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM messages), "
                    "(SELECT count(*) FROM review_items WHERE state = 'open'), "
                    "(SELECT count(*) FROM messages WHERE sender = :talker)"
                ),
                {"talker": TALKER},
            )
        ).one()
    if tuple(counts) != (shape.messages, shape.items, shape.conversation):
        raise RuntimeError(f"loaded {tuple(counts)}, not {shape}")
    return {
        "messages": shape.messages,
        "items": shape.items,
        "numbers": shape.numbers,
        "conversation": shape.conversation,
        "insert_seconds": inserted,
        "seconds": seconds,
    }


async def add_caseworker(database_url: str) -> str:
    """A caseworker of the bench service, enrolled (as the tests add one); its TOTP key."""
    secret = pyotp.random_base32()
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with session_factory(engine).begin() as session:
            users = Users(session)
            user = await users.add(EMAIL, auth.hash_password(PASSWORD))
            user.totp_secret = secret
            await users.grant(user, SERVICE, "caseworker")
    finally:
        await engine.dispose()
    return secret


async def talker_item(database_url: str) -> int:
    """The id of the item whose sender has the long conversation."""
    async with _connection(database_url) as connection:
        found = await connection.scalar(
            text(
                "SELECT r.id FROM review_items r JOIN messages m ON m.id = r.message_id "
                "WHERE m.sender = :talker"
            ),
            {"talker": TALKER},
        )
    if found is None:
        raise RuntimeError("no review item from the long conversation's number")
    return int(found)


def paths(item: int, today: datetime) -> dict[str, str]:
    """The pages timed, by name: the queue, a filtered queue, the item, the CSV."""
    since = (today - timedelta(days=FILTER_DAYS)).date().isoformat()
    # The reasons as the queue's counts link to them: by their group's words.
    filtered = urlencode({"reason": reason_group(FILTER_REASON), "received_from": since})
    csv = urlencode({"reason": reason_group(f"{CSV_REASON} appt-1 (confirm to cancel)")})
    return {
        "queue": "/review/",
        "filtered": f"/review/?{filtered}",
        "item": f"/review/items/{item}",
        "csv": f"/review/queue.csv?{csv}",
    }


async def sign_in(http: aiohttp.ClientSession, base_url: str, secret: str) -> None:
    """Password, then the authenticator's code, as a browser does; raise if refused."""
    csrf = await _csrf(http, base_url + "/review/sign-in")
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": csrf}
    async with http.post(base_url + "/review/sign-in", data=form, allow_redirects=False) as got:
        if got.status != 303 or got.headers.get("Location") != "/review/two-factor":
            raise RuntimeError(f"the bench caseworker's password was refused: {got.status}")
    csrf = await _csrf(http, base_url + "/review/two-factor")
    form = {"code": pyotp.TOTP(secret).now(), "csrf_token": csrf}
    async with http.post(base_url + "/review/two-factor", data=form, allow_redirects=False) as got:
        if got.status != 303:
            raise RuntimeError(f"the bench caseworker's code was refused: {got.status}")


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, allow_redirects=False) as got:
        found = _CSRF.search(await got.text())
    if found is None:
        raise RuntimeError(f"no csrf_token on {url}")
    return found.group(1)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value at least `fraction` of them are <=."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


async def timed_pages(
    base_url: str, secret: str, pages: dict[str, str], counts: dict[str, int], warmup: int
) -> dict[str, Any]:
    """Sign in, then GET each page `counts[name]` times after `warmup` discarded, one at a time,
    each timed to its whole body; p50/p95 and what it returned (rows of a CSV)."""
    figures: dict[str, Any] = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, base_url, secret)
        for name, path in pages.items():
            seconds: list[float] = []
            size = 0
            for index in range(warmup + counts[name]):
                started = time.perf_counter()
                async with http.get(base_url + path, allow_redirects=False) as got:
                    body = await got.read()
                    if got.status != 200:
                        raise RuntimeError(f"GET {path} answered {got.status}")
                if index >= warmup:
                    seconds.append(time.perf_counter() - started)
                size = len(body)
            ms = [1000 * s for s in seconds]
            figures[name] = {
                "path": path,
                "requests": len(ms),
                "p50_ms": percentile(ms, 0.50),
                "p95_ms": percentile(ms, 0.95),
                "max_ms": max(ms),
                "bytes": size,
            }
            if name in ("queue", "filtered"):
                # The page timed is the whole queue page, its counts per reason included.
                figures[name]["counts_per_reason"] = b"govuk-table reason-counts" in body
            if name == "csv":
                # Less the header line; every row is one line (the bench's texts hold no newline).
                figures[name]["rows"] = body.decode("utf-8-sig").count("\r\n") - 1
    return figures
