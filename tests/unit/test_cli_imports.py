"""`inbound --help` and the rule-file commands load none of the service: that is what makes them
answer at once. Checked by the modules a fresh interpreter holds afterwards, not by a clock, so
a busy machine can't make it pass or fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.rules.conftest import EXAMPLE, EXAMPLES

# Runs `main(argv)` in a fresh interpreter and writes the modules it loaded to a file.
PROBE = """
import json, sys
from inbound.cli import main
out, argv = sys.argv[1], sys.argv[2:]
try:
    code = main(argv)
except SystemExit as exit:
    code = exit.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""

# What only the service needs: web server and client, broker, database, password hashing, and
# inbound's start-up, review desk and providers.
SERVICE = (
    "aiohttp",
    "aio_pika",
    "aiormq",
    "sqlalchemy",
    "alembic",
    "asyncpg",
    "aiosqlite",
    "argon2",
    "inbound.bootstrap",
    "inbound.review",
    "inbound.providers",
    "inbound.store",
    "inbound.broker",
)
# The parser alone doesn't even read settings or rule files.
PARSER_ONLY = (*SERVICE, "pydantic", "pydantic_settings", "yaml", "phonenumbers", "asyncio")


def loaded(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """(exit status, modules loaded) after `inbound ARGV` in a new interpreter."""
    out = tmp_path / "modules.json"
    clean = {key: value for key, value in os.environ.items() if not key.startswith("INBOUND_")}
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *argv],
        capture_output=True,
        check=True,
        cwd=tmp_path,
        env={**clean, **(env or {})},
        timeout=60,
    )
    result = json.loads(out.read_text())
    return result["code"], set(result["modules"])


# The settings check a Telnyx key with this small pure module (and the strict base64 it shares
# with the providers, standard library only); no provider is loaded.
ALLOWED = {"inbound.providers", "inbound.providers.public_keys", "inbound.providers.signing"}


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The loaded modules that are one of `packages` or inside one."""
    return sorted(
        name
        for name in modules - ALLOWED
        if any(name == package or name.startswith(package + ".") for package in packages)
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],  # importing inbound.cli only: `main([])` exits on the missing command
        ["--help"],
        ["--version"],
        ["rules", "test", "--help"],
        ["run", "--help"],
        ["trace", "--help"],
        ["users", "add", "--help"],
    ],
)
def test_building_the_parser_loads_nothing_of_the_service(tmp_path: Path, argv: list[str]) -> None:
    code, modules = loaded(tmp_path, *argv)
    assert code in (0, 2)
    assert among(modules, PARSER_ONLY) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["rules", "test", str(EXAMPLE), "--text", "YES"],
        ["rules", "test", str(EXAMPLE), "--text", "YES", "--json", "--from", "07700900123"],
        ["rules", "check", str(EXAMPLES)],
        ["rules", "schema"],
        ["config"],
        ["config", "--reference"],
    ],
)
def test_rule_and_config_commands_load_nothing_of_the_service(
    tmp_path: Path, argv: list[str]
) -> None:
    code, modules = loaded(tmp_path, *argv)
    assert code == 0
    assert among(modules, SERVICE) == []


def test_trace_loads_the_database_but_not_the_broker_web_or_start_up(tmp_path: Path) -> None:
    env = {"INBOUND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"}
    code, modules = loaded(tmp_path, "trace", "some-id", env=env)
    assert code == 2  # no database file there
    assert "sqlalchemy" in modules
    assert among(modules, ("aiohttp", "aio_pika", "argon2", "alembic", "inbound.bootstrap")) == []
