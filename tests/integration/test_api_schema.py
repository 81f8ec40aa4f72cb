"""schemathesis over /api with a valid bearer token: every input it generates from the OpenAPI
document, valid or not, gets an answer the document states, never a 5xx.

The server is this test's own (SQLite and PostgreSQL), with items of the token's service, an
item of another service, and an item the token's user holds; the item ids are given to
schemathesis as a dictionary so generated requests reach the items and their rules, not only
404s. The run is bounded (examples per operation and a time budget) to fit `make test`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.integration.review_support import Desk, callback_secret, desk
from tests.support.browser import add_item

__all__ = ["callback_secret", "desk"]  # fixtures

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
MAX_EXAMPLES = 60  # per operation: about 900 requests, ~35 s per database
TIME_LIMIT = 300  # seconds: a safety net; the run ends after MAX_EXAMPLES per operation
# Every check but positive_data_acceptance: the document states each field's shape, but some
# limits can't be put in JSON Schema (six SMS segments counted after trimming; an item's state),
# so a well-shaped request can still be a 422 or a 409, as the document says.
EXCLUDED_CHECKS = "positive_data_acceptance"
PHASES = "examples,coverage,fuzzing"
# One worker: with two, hypothesis (describing a filter lambda for schemathesis's coverage
# phase) hit CPython 3.11's "AST constructor recursion depth mismatch" in a worker thread.
WORKERS = "1"


def config(items: list[int], token: str) -> str:
    """A schemathesis.toml: the token on every request, and the real item ids offered often."""
    values = ", ".join(str(item) for item in items)
    return f"""
headers = {{ Authorization = "Bearer {token}" }}

[dictionaries.items]
values = [{values}]

[parameters]
"path.item" = {{ dictionary = "items", probability = 0.7 }}
"""


async def test_schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_state(
    desk: Desk, tmp_path: Path
) -> None:
    items = [await desk.item(f"message {n}") for n in range(12)]
    items += [await desk.claimed("held by the token's user") for _ in range(3)]
    items.append(await add_item(desk.stack.sessions, "beta", "another service's"))
    (tmp_path / "schemathesis.toml").write_text(config(items, desk.caseworker.token))
    returncode, text, statuses = await run_schemathesis(
        desk.stack.base_url, "^/api/", tmp_path, max_examples=MAX_EXAMPLES, seed=13
    )
    print(text[-4000:])
    assert returncode == 0, text[-8000:]
    # It got past the token: answers other than 401 came back from the items.
    assert statuses - {401}, statuses
    assert 200 in statuses


async def run_schemathesis(
    base_url: str, path_regex: str, workdir: Path, *, max_examples: int, seed: int
) -> tuple[int, str, set[int]]:
    """schemathesis over the paths matching `path_regex` of the server's OpenAPI document, with
    `workdir`'s schemathesis.toml: its exit status, its output, and every status it was answered.
    """
    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "run",
        f"{base_url}/openapi.json",
        "--include-path-regex",
        path_regex,
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        str(max_examples),
        "--phases",
        PHASES,
        "--workers",
        WORKERS,
        "--seed",
        str(seed),
        "--report",
        "ndjson",
        "--report-dir",
        str(workdir / "report"),
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=TIME_LIMIT)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace"), _statuses(workdir / "report")


def _statuses(report: Path) -> set[int]:
    found: set[int] = set()
    for path in report.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            found.update(int(code) for code in _status_codes(json.loads(line)))
    return found


def _status_codes(event: object) -> list[int]:
    """Every "status_code" anywhere in one report event."""
    if isinstance(event, dict):
        codes = [event["status_code"]] if isinstance(event.get("status_code"), int) else []
        return codes + [code for value in event.values() for code in _status_codes(value)]
    if isinstance(event, list):
        return [code for value in event for code in _status_codes(value)]
    return []
