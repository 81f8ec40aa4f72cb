"""schemathesis over /api/prompts with a service token: whatever it generates from the OpenAPI
document gets an answer the document states, never a 5xx (issue 15). test_api_schema.py does
the same for the queue with a personal token (which gets 403 here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inbound.config import Settings
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_api_schema import run_schemathesis
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
    # A well-shaped prompt can still be refused (a number that isn't one, expires_at before
    # sent_at, a year outside 2000-2999: beyond JSON Schema), so positive_data_acceptance is
    # left out, as for the queue.
    returncode, text, statuses = await run_schemathesis(
        stack.base_url, "^/api/prompts", tmp_path, max_examples=MAX_EXAMPLES, seed=15
    )
    assert returncode == 0, text[-6000:]
    assert {201, 422} <= statuses, statuses  # past the token: prompts stored and refused
