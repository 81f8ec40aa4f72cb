"""The `inbound` command as a newcomer uses it: migrate, run, send, trace, and its errors."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

from tests.support.process import free_port, inbound, serving


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`inbound migrate` then `inbound run`, as `make run` does; stopped with SIGTERM."""
    with serving(env, tmp_path / "server") as printed:
        assert "service appointments" in printed
        assert "+447700900000" in printed
        yield printed


def trace_until_found(env: dict[str, str], message_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        result = inbound(env, "trace", message_id, "--json")
        if result.returncode == 0:
            found: dict[str, object] = json.loads(result.stdout)
            return found
        assert result.returncode == 1, result.stderr
        assert time.monotonic() < deadline, "message never reached the database"
        time.sleep(0.2)


def test_send_yes_then_trace_shows_confirm(env: dict[str, str], server: str) -> None:
    message_id = f"readme-{uuid.uuid4().hex[:8]}"
    sent = inbound(env, "send", "YES", "--id", message_id)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("202")
    record = trace_until_found(env, message_id)
    assert record["status"] == "processed"
    assert record["action"] == "confirm"
    assert record["rule"] == "confirm"
    assert record["provider"] == "generic"
    assert record["provider_message_id"] == message_id
    assert record["service"] == "appointments"
    assert record["text"] == "YES"
    assert record["from"] == "+44********23"  # masked unless --show-numbers
    shown = json.loads(inbound(env, "trace", message_id, "--json", "--show-numbers").stdout)
    assert shown["from"] == "+447700900123"
    human = inbound(env, "trace", message_id)
    assert "confirm (rule confirm)" in human.stdout


def test_send_a_question_then_trace_shows_review(env: dict[str, str], server: str) -> None:
    message_id = f"readme-{uuid.uuid4().hex[:8]}"
    assert (
        inbound(env, "send", "Yes but can I change the time?", "--id", message_id).returncode == 0
    )
    record = trace_until_found(env, message_id)
    assert record["status"] == "review"
    assert record["action"] is None
    assert isinstance(record["review"], dict)
    assert record["review"]["state"] == "open"


def test_trace_of_unknown_id_exits_1(env: dict[str, str]) -> None:
    assert inbound(env, "migrate").returncode == 0
    result = inbound(env, "trace", "no-such-id")
    assert result.returncode == 1
    assert "no message 'no-such-id'" in result.stderr


# Without RabbitMQ, `run` and `worker` now wait for it, saying why (they used to exit 2):
# tests/integration/test_start_any_order.py.


def test_run_before_migrate_says_to_migrate(env: dict[str, str]) -> None:
    result = inbound(env, "run")
    assert result.returncode == 2
    assert "inbound migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_rule_file_stops_start_up_with_file_and_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text(
        "service:\n  id: broken\n  name: Broken\n  region: GB\n  numbers: ['+447700900001']\n"
        "rules:\n  - name: confirm\n    keywords: [ok]\n    action: confrm\n"
    )
    env["INBOUND_RULES_DIR"] = str(rules)
    assert inbound(env, "migrate").returncode == 0
    result = inbound(env, "run")
    assert result.returncode == 2
    assert "broken.yaml:9" in result.stderr
    assert "Traceback" not in result.stderr
    check = inbound(env, "rules", "check")
    assert check.returncode == 1
    assert "broken.yaml:9" in check.stderr


def test_migrate_twice_is_harmless(env: dict[str, str]) -> None:
    first = inbound(env, "migrate")
    second = inbound(env, "migrate")
    assert (first.returncode, second.returncode) == (0, 0)
    assert "up to date" in second.stdout


def test_bad_setting_is_named(env: dict[str, str]) -> None:
    env["INBOUND_PORT"] = "eighty"
    result = inbound(env, "run")
    assert result.returncode == 2
    assert "INBOUND_PORT" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["trace"],
        ["rules"],
        ["rules", "check"],
        ["send"],
        ["config"],
    ],
)
def test_every_command_has_help(env: dict[str, str], command: list[str]) -> None:
    result = inbound(env, *command, "--help")
    assert result.returncode == 0
    assert "usage: inbound" in result.stdout
    assert "PydanticUndefined" not in result.stdout
    assert "INBOUND_SIGN_IN_LIMIT" not in result.stdout  # the settings table is in config
    if command in ([], ["run"]):
        assert "INBOUND_DATABASE_URL" in result.stdout
        assert "INBOUND_AMQP_URL" in result.stdout
        assert "inbound config --reference" in result.stdout


def test_version_is_printed(env: dict[str, str]) -> None:
    result = inbound(env, "--version")
    assert result.returncode == 0
    assert re.fullmatch(r"inbound \d+\.\d+\.\d+\S*\n", result.stdout)


def test_rules_check_accepts_the_examples(env: dict[str, str]) -> None:
    result = inbound(env, "rules", "check")
    assert result.returncode == 0, result.stderr
    assert "service appointments" in result.stdout


@pytest.mark.parametrize(
    ("value", "named"),
    [("twilio", "twilio can always be verified"), ("nosuch", "no provider called 'nosuch'")],
)
def test_unverified_providers_refuses_a_verifiable_or_unknown_one(
    env: dict[str, str], value: str, named: str
) -> None:
    env["INBOUND_UNVERIFIED_PROVIDERS"] = value
    assert inbound(env, "migrate").returncode == 0
    result = inbound(env, "serve")
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_provider_setting_stops_start_up_in_one_line(env: dict[str, str]) -> None:
    env["INBOUND_MMG_BASIC_AUTH"] = "no-colon-here"
    assert inbound(env, "migrate").returncode == 0
    result = inbound(env, "serve")
    assert result.returncode == 2
    assert "INBOUND_MMG_BASIC_AUTH" in result.stderr
    assert "Traceback" not in result.stderr


def test_unverified_infobip_is_warned_about(env: dict[str, str], tmp_path: Path) -> None:
    env["INBOUND_UNVERIFIED_PROVIDERS"] = "infobip"
    env["INBOUND_LOG_FORMAT"] = "json"
    with serving(env, tmp_path / "server", command="serve"):
        pass
    lines = [json.loads(line) for line in (tmp_path / "server.err").read_text().splitlines()]
    warned = [line for line in lines if line.get("event") == "provider_unverified"]
    assert warned, lines
    assert warned[0]["provider"] == "infobip"


def test_configuration_reference_in_docs_is_current(env: dict[str, str]) -> None:
    result = inbound(env, "config", "--reference")
    assert result.returncode == 0
    documented = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert documented.strip() == result.stdout.strip(), (
        "docs/configuration.md is stale: run `inbound config --reference > docs/configuration.md`"
    )


def test_config_hides_secrets(env: dict[str, str]) -> None:
    result = inbound(env, "config")
    assert result.returncode == 0
    assert "cli-test-secret" not in result.stdout
    assert "INBOUND_GENERIC_SECRET=**********" in result.stdout


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single `inbound: ...` line of a failed command (exit 2, no traceback)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("inbound: ")
    return lines[0]


@pytest.mark.parametrize(
    "command", [["trace", "some-id"], ["run"], ["users", "reset-password", "a@b.org"]]
)
def test_relative_sqlite_url_from_another_folder_names_the_file_and_creates_nothing(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env["INBOUND_DATABASE_URL"] = "sqlite+aiosqlite:///inbound.db"
    line = one_line(inbound(env, *command, cwd=elsewhere))
    assert f"no database file at {elsewhere / 'inbound.db'} " in line
    assert "run `inbound migrate`" in line
    assert "INBOUND_DATABASE_URL" in line
    assert list(elsewhere.iterdir()) == []  # before the fix: an empty inbound.db, "no such table"


def test_migrate_creates_the_relative_sqlite_file_where_it_runs(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["INBOUND_DATABASE_URL"] = "sqlite+aiosqlite:///inbound.db"
    assert inbound(env, "migrate", cwd=tmp_path).returncode == 0
    assert (tmp_path / "inbound.db").exists()
    assert inbound(env, "trace", "some-id", cwd=tmp_path).returncode == 1  # not stored: fine


@pytest.mark.parametrize("command", [["trace", "some-id"], ["migrate"], ["run"]])
def test_closed_database_port_is_one_line_with_the_password_masked(
    env: dict[str, str], command: list[str]
) -> None:
    env["INBOUND_DATABASE_URL"] = f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{free_port()}/x"
    line = one_line(inbound(env, *command))
    assert "cannot reach the database at postgresql+asyncpg://postgres:***@127.0.0.1:" in line
    assert line.endswith("connection refused (is PostgreSQL running there?)")
    assert "hunter2" not in line


@pytest.mark.parametrize("command", [["spool", "status"], ["migrate"], ["serve"]])
def test_postgresql_database_that_does_not_exist_is_named(
    env: dict[str, str], postgres_server_url: str, command: list[str]
) -> None:
    from sqlalchemy.engine import make_url

    name = f"inbound_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_server_url).set(database=name).render_as_string(False)
    env["INBOUND_DATABASE_URL"] = url
    line = one_line(inbound(env, *command))
    assert f"database '{name}' does not exist on that server: create it (createdb {name})" in line


def test_wrong_rabbitmq_password_is_told_so(env: dict[str, str], amqp_url: str) -> None:
    assert inbound(env, "migrate").returncode == 0
    env["INBOUND_AMQP_URL"] = str(URL(amqp_url).with_password("not-the-password"))
    line = one_line(inbound(env, "worker"))
    assert "INBOUND_AMQP_URL: RabbitMQ at" in line
    assert "refused the login of user" in line
    assert "password in the URL is wrong" in line
    assert "rabbitmq-server" not in line  # it is running: starting one is no advice
    assert "not-the-password" not in line


def test_rabbitmq_vhost_that_does_not_exist_is_told_so(env: dict[str, str], amqp_url: str) -> None:
    assert inbound(env, "migrate").returncode == 0
    vhost = f"no-such-vhost-{uuid.uuid4().hex[:6]}"
    env["INBOUND_AMQP_URL"] = str(URL(amqp_url).with_path(f"/{vhost}"))
    line = one_line(inbound(env, "serve"))
    assert f"refused virtual host '{vhost}' (NOT_ALLOWED)" in line
    assert f"rabbitmqctl add_vhost {vhost}" in line
    assert "rabbitmq-server" not in line


def test_send_with_another_secret_says_so_and_suggests_no_trace(
    env: dict[str, str], server: str
) -> None:
    env["INBOUND_GENERIC_SECRET"] = "not-the-servers-secret"
    result = inbound(env, "send", "YES")
    line = one_line(result)
    assert "refused the signature (403)" in line
    assert "INBOUND_GENERIC_SECRET here is not the server's" in line
    assert "trace" not in result.stdout + result.stderr


def test_send_to_no_server_says_to_start_one(env: dict[str, str]) -> None:
    line = one_line(inbound(env, "send", "YES"))
    assert "nothing answers at http://127.0.0.1:" in line
    assert "inbound run" in line


def test_rules_check_of_one_file_refuses_a_number_the_rules_folder_has(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The example surgery answers on +447700900000; a new file taking it passes alone, and
    # the running service would refuse the folder with it.
    new = tmp_path / "clinic.yaml"
    new.write_text(
        "service:\n  id: clinic\n  name: Clinic\n  region: GB\n  numbers: ['+447700900000']\n"
        "rules:\n  - {name: confirm, keywords: ['yes'], action: confirm}\n",
        encoding="utf-8",
    )
    result = inbound(env, "rules", "check", str(new))
    assert result.returncode == 1, result.stdout
    assert f"checked beside the other services in {env['INBOUND_RULES_DIR']}/" in result.stdout
    assert f"{new}:5: service.numbers[0]: number +447700900000 is already used by service " in (
        result.stderr
    )
    assert "appointments.yaml:" in result.stderr
