"""`bench/run.py --only review` (issue 16's review queue at scale) runs, tiny, against the real
services and reports every page's figures; the CSV holds the rows its filter selects.

No timed assertions: this checks the benchmark works and measures the right thing, not how fast
this machine is.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from inbound.store.database import create_engine
from tests.conftest import ROOT

MESSAGES, ITEMS = 4_000, 1_000
PAGES = ("queue", "filtered", "item", "csv")


def test_review_bench_reports_every_page(
    amqp_url: str, postgres_server_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "review.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--only=review",
            f"--review-messages={MESSAGES}",
            f"--review-items={ITEMS}",
            f"--amqp-url={amqp_url}",
            f"--postgres-url={postgres_server_url}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text())
    review = results["figures"]["review"]
    plan = results["plan"]
    assert review["load"]["messages"] == MESSAGES
    assert review["load"]["items"] == ITEMS
    assert review["load"]["conversation"] == plan["review_conversation"] == 200
    # A tenth of the items carry the CSV's reason, and the download held every one of them.
    assert review["csv_rows"] == review["loaded"]["csv"]["rows"] == ITEMS // 10
    for database in ("loaded", "empty"):
        for page in PAGES:
            figure = review[database][page]
            wanted = plan["review_csv"] if page == "csv" else plan["review_requests"]
            assert figure["requests"] == wanted, (database, page, figure)
            assert figure["p95_ms"] >= figure["p50_ms"] > 0, (database, page, figure)
            assert figure["bytes"] > 0
    # The item timed is the one from the number with the long conversation, on each database.
    assert review["loaded"]["item"]["path"].startswith("/review/items/")
    rows = results["table"]
    assert [row["figure"].split(",")[0] for row in rows] == [
        "review queue",
        "review queue",
        "review item page",
        "review queue CSV",
    ], rows
    assert all(row["ratio"] is not None and row["value"] > 0 for row in rows), rows
    assert done.stdout.count("target: p95 under 0.2 s") == 3
    assert "target: p95 under 3 s" in done.stdout
    # Both databases, the loaded one included, are gone once the bench is done.
    assert not asyncio.run(databases_left(postgres_server_url, review["databases"]))


async def databases_left(server_url: str, names: list[str]) -> list[str]:
    engine = create_engine(server_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.scalars(
                text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"),
                {"names": names},
            )
            return list(found)
    finally:
        await engine.dispose()
