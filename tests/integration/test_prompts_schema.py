"""schemathesis over /api/prompts with a service token: whatever it generates from the OpenAPI
document gets an answer the document states, never a 5xx (issue 15). test_api_schema.py does
the same for the queue with a personal token (which gets 403 here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inbound.config import Settings
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_api_schema import SCHEMATHESIS, TIME_LIMIT, _statuses
from tests.integration.test_users_tokens import Command, command  # noqa: F401 (a fixture)

MAX_EXAMPLES = 100  # per operation: two operations, a few seconds


@pytest.fixture
async def stack_and_token(
    settings: Settings,
    command: Command,  # noqa: F811
) -> AsyncIterator[tuple[Stack, str]]:
    async with running_stack(settings) as stack:
        made = await command("tokens", "add", "--service", "appointments", "--name", "fuzz")
        assert made.code == 0, made.err
        yield stack, made.out.strip()


async def test_schemathesis_finds_no_server_error_in_the_prompts_api(
    stack_and_token: tuple[Stack, str], tmp_path: Path
) -> None:
    stack, token = stack_and_token
    (tmp_path / "schemathesis.toml").write_text(
        f'headers = {{ Authorization = "Bearer {token}" }}\n'
    )
    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "run",
        f"{stack.base_url}/openapi.json",
        "--include-path-regex",
        "^/api/prompts",
        "--checks",
        "all",
        # A well-shaped prompt can still be refused: a number that isn't one, expires_at
        # before sent_at, a year outside 2000-2999 are beyond JSON Schema.
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--seed",
        "15",
        "--report",
        "ndjson",
        "--report-dir",
        str(tmp_path / "report"),
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=TIME_LIMIT)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    statuses = _statuses(tmp_path / "report")
    assert {201, 422} <= statuses, statuses  # past the token: prompts stored and refused
