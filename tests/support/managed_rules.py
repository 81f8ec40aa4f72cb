"""Rules managed in inbound, for tests: the example rules copied to a folder, with some services'
files taken out and imported into inbound as version 1, the rest staying in files."""

from __future__ import annotations

import shutil
from pathlib import Path

from inbound.managed_rules import Actor, ManagedRules
from inbound.store.database import create_engine, session_factory
from tests.conftest import EXAMPLE_RULES, TEST_SECRET_KEY

APPOINTMENTS = (EXAMPLE_RULES / "appointments.yaml").read_text(encoding="utf-8")
WITH_MAYBE = APPOINTMENTS.replace("i will be there,", "i will be there, maybe,")
WITH_PERHAPS = APPOINTMENTS.replace("i will be there,", "i will be there, perhaps,")


def example_folder(tmp_path: Path, *in_inbound: str) -> Path:
    """A copy of the example rules at tmp_path/rules without the files named (to be imported)."""
    folder = tmp_path / "rules"
    shutil.copytree(EXAMPLE_RULES, folder)
    for name in in_inbound:
        (folder / name).unlink()
    return folder


async def import_rules(
    database_url: str, folder: Path, *texts: str, reason: str = "first import"
) -> None:
    """Each text imported into inbound (its service's version 1), on an engine of its own."""
    engine = create_engine(database_url)
    try:
        managed = ManagedRules(session_factory(engine), folder)
        for text in texts:
            await managed.import_rules(text, reason, Actor("tests"))
    finally:
        await engine.dispose()


async def appointments_in_inbound(
    database_url: str, tmp_path: Path, text: str = APPOINTMENTS, reason: str = "first import"
) -> Path:
    """The example rules' folder with appointments imported into inbound (from `text`)."""
    folder = example_folder(tmp_path, "appointments.yaml")
    await import_rules(database_url, folder, text, reason=reason)
    return folder


def process_env(env: dict[str, str], database_url: str, folder: Path, **more: str) -> str:
    """`env` made ready for inbound processes (`start_inbound`) on this database and rules
    folder, logging JSON, with `more`; the base URL they serve on."""
    env.update(
        INBOUND_DATABASE_URL=database_url,
        INBOUND_RULES_DIR=str(folder),
        INBOUND_SECRET_KEY=TEST_SECRET_KEY,
        INBOUND_LOG_FORMAT="json",
        **more,
    )
    return f"http://127.0.0.1:{env['INBOUND_PORT']}"
