"""`inbound prompts import|list`, run as an operator runs them, on SQLite and PostgreSQL
(issue 15)."""

from __future__ import annotations

from pathlib import Path

from inbound.config import Settings
from inbound.prompts.model import PromptState
from inbound.store.database import create_engine, session_factory
from inbound.store.prompts import Prompts
from tests.integration.test_users_tokens import Command, command  # noqa: F401 (a fixture)

SERVICE = "appointments"  # rules/examples: region GB
HEADER = "to,reference,expects,expires_at,text\n"


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "reminders.csv"
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


async def open_prompts(settings: Settings, number: str) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            return [p.reference for p in await Prompts(session).open_for(SERVICE, number)]
    finally:
        await engine.dispose()


async def test_import_stores_the_rows_and_says_how_many_were_new(
    command: Command,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    path = csv_file(
        tmp_path,
        '07700 900123,appt-1,"confirm,cancel",2026-12-03T09:00:00Z,"Reminder, reply YES"',
        "+447700900456,appt-2,confirm,,",
    )
    first = await command("prompts", "import", SERVICE, str(path))
    assert first.code == 0, first.err
    assert "imported 2 prompts for appointments from reminders.csv" in first.out
    assert "2 new, 0 updated" in first.out
    assert "importing: 2 of 2 prompts (100%)" in first.err
    assert await open_prompts(settings, "+447700900123") == ["appt-1"]
    again = await command("prompts", "import", SERVICE, str(path))
    assert "0 new, 2 updated" in again.out
    assert await open_prompts(settings, "+447700900456") == ["appt-2"]


async def test_import_with_a_wrong_row_names_each_line_and_stores_nothing(
    command: Command,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    path = csv_file(
        tmp_path,
        "07700 900123,appt-1,confirm,,",
        "nope,appt-2,confirm,,",
        "07700 900123,appt-3,yes,,",
        "07700 900123,appt-4,confirm,tomorrow,",
    )
    ran = await command("prompts", "import", SERVICE, str(path))
    assert ran.code == 2
    assert "3 wrong rows, so nothing was imported" in ran.err
    assert "line 3: to:" in ran.err
    assert "line 4: expects: 'yes' is not an action" in ran.err
    assert "line 5: expires_at:" in ran.err
    assert ran.out == ""
    assert await open_prompts(settings, "+447700900123") == []


async def test_import_explains_a_wrong_header_a_missing_file_and_an_unknown_service(
    command: Command,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path, "07700 900123,a,confirm", header="to,reference,expect\n")
    ran = await command("prompts", "import", SERVICE, str(path))
    assert ran.code == 2
    assert "line 1: no column expects; unknown column 'expect'" in ran.error
    ran = await command("prompts", "import", SERVICE, str(tmp_path / "none.csv"))
    assert "none.csv: no such file" in ran.error
    ran = await command("prompts", "import", "nosuch", str(path))
    assert "no service 'nosuch' in the rule files" in ran.error
    path.write_bytes(b"to,reference,expects\n\xff\xfe,a,confirm\n")
    ran = await command("prompts", "import", SERVICE, str(path))
    assert "not UTF-8" in ran.error


async def test_list_masks_numbers_and_open_leaves_out_withdrawn_prompts(
    command: Command,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path, "07700 900123,appt-1,confirm,,", "07700 900456,appt-2,cancel,,")
    assert (await command("prompts", "import", SERVICE, str(path))).code == 0
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            withdrawn = await Prompts(session).withdraw(SERVICE, "appt-2", "+447700900456")
        assert withdrawn is not None
        assert withdrawn.prompt.state is PromptState.WITHDRAWN
    finally:
        await engine.dispose()
    everything = await command("prompts", "list", SERVICE)
    assert everything.code == 0
    assert "appt-1" in everything.out
    assert "appt-2" in everything.out
    assert "withdrawn" in everything.out
    assert "+44********23" in everything.out
    assert "900123" not in everything.out
    opened = await command("prompts", "list", SERVICE, "--open")
    assert "appt-1" in opened.out
    assert "appt-2" not in opened.out
    limited = await command("prompts", "list", SERVICE, "--limit", "1")
    assert "appt-2" not in limited.out
    assert "--limit N shows more" in limited.err
    none = await command("prompts", "list", "feedback")
    assert (none.code, none.out) == (0, "")
    assert "no prompts for feedback" in none.err


async def test_one_wrong_row_is_named_as_one(
    command: Command,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path, "07700 900123,appt-1,confirm,,", "nope,appt-2,confirm,,")
    ran = await command("prompts", "import", SERVICE, str(path))
    assert ran.code == 2
    assert "1 wrong row, so nothing was imported" in ran.err
