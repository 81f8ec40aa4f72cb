"""The `inbound` command line as a newcomer meets it: help that fits, a version, and failures
told in one line. (Against real RabbitMQ and PostgreSQL: tests/integration/test_cli.py.)"""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from pydantic.fields import FieldInfo

from inbound import cli, config
from inbound.commands import users
from inbound.commands.context import explain
from inbound.store.users import ROLES

EXAMPLES = Path(__file__).parents[2] / "rules" / "examples"


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser under `inbound`, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


ALL = [path for path, _ in commands(cli.parser())]


def help_of(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*words, "--help"])
    assert exited.value.code == 0
    out: str = capsys.readouterr().out
    return out


def test_every_command_is_reached_by_the_walk() -> None:
    assert {("rules", "test"), ("users", "add"), ("spool", "status"), ("run",), ()} <= set(ALL)
    assert len(ALL) > 20


@pytest.mark.parametrize("words", ALL, ids=lambda words: " ".join(words) or "inbound")
def test_help_shows_the_commands_own_options_and_no_settings_table(
    capsys: pytest.CaptureFixture[str], words: tuple[str, ...]
) -> None:
    out = help_of(capsys, *words)
    assert out.startswith(f"usage: {' '.join(('inbound', *words))}")
    assert "PydanticUndefined" not in out
    assert out.count("-h, --help") == 1
    # The ~55 settings live in `inbound config --reference`; a command names the few it reads.
    assert out.count("INBOUND_") <= 8, out
    assert "INBOUND_SIGN_IN_LIMIT" not in out


@pytest.mark.parametrize("words", [(), ("run",), ("trace",), ("rules", "replay"), ("purge",)])
def test_help_points_to_the_settings_reference(
    capsys: pytest.CaptureFixture[str], words: tuple[str, ...]
) -> None:
    out = help_of(capsys, *words)
    assert "`inbound config --reference`" in out  # on one line, so it can be copied


def test_help_of_a_process_names_the_settings_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    out = help_of(capsys, "run")
    assert "INBOUND_DATABASE_URL" in out
    assert "INBOUND_AMQP_URL" in out
    assert "inbound migrate" in out


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"inbound {metadata.version('inbound')}\n"


def test_reference_never_shows_pydantic_undefined() -> None:
    reference = config.reference()
    assert "PydanticUndefined" not in reference
    assert "| `INBOUND_RETRY_DELAYS` | `5.0,30.0,120.0,600.0,1800.0,3600.0` |" in reference


def test_a_required_setting_reads_required_in_the_reference() -> None:
    row = config._reference_row("token", FieldInfo(annotation=str, description="A token."))
    assert row == "| `INBOUND_TOKEN` | (required) | A token. |"


def test_the_users_command_offers_the_stores_roles() -> None:
    assert users.ROLES == ROLES


# -- a relative SQLite URL used from another folder ------------------------------------------


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no database, holding the default relative SQLite URL."""
    for name in ("INBOUND_AMQP_URL", "INBOUND_GENERIC_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INBOUND_DATABASE_URL", "sqlite+aiosqlite:///inbound.db")
    monkeypatch.setenv("INBOUND_RULES_DIR", str(EXAMPLES))
    return tmp_path


@pytest.mark.parametrize(
    "words",
    [
        ["trace", "some-id"],
        ["spool", "status"],
        ["purge"],
        ["users", "reset-password", "someone@example.org"],
        ["rules", "replay", str(EXAMPLES / "appointments.yaml")],
    ],
    ids=lambda words: " ".join(words[:2]),
)
def test_a_missing_sqlite_file_is_named_in_one_line_and_not_created(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], words: list[str]
) -> None:
    assert cli.main(words) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"inbound: no database file at {elsewhere / 'inbound.db'} ")
    assert "inbound migrate" in err
    assert "INBOUND_DATABASE_URL" in err
    assert not (elsewhere / "inbound.db").exists()


# -- which failures get one line -------------------------------------------------------------


def test_broker_refusals_name_the_setting_and_outages_say_how_to_start_one() -> None:
    from inbound.broker.connection import BrokerRefused, BrokerUnreachable

    refused = explain(BrokerRefused("RabbitMQ at amqp://u:***@h/ refused the login of user 'u'"))
    assert refused == "INBOUND_AMQP_URL: RabbitMQ at amqp://u:***@h/ refused the login of user 'u'"
    down = explain(BrokerUnreachable("cannot reach RabbitMQ at amqp://h/: refused"))
    assert down is not None
    assert "rabbitmq-server" in down


def test_an_unexpected_error_is_left_to_show_its_traceback() -> None:
    assert explain(ZeroDivisionError("a bug")) is None


def test_a_failing_migration_shows_its_own_error_not_run_migrate(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy.exc import OperationalError

    with sqlite3.connect(elsewhere / "inbound.db") as made_by_hand:
        made_by_hand.execute("CREATE TABLE messages (id INTEGER)")
    with pytest.raises(OperationalError, match="table messages already exists"):
        cli.main(["migrate"])
    assert "inbound migrate" not in capsys.readouterr().err
