"""Rule files reload in a running inbound: on SIGHUP, on change, and never to a broken file."""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from inbound.config import Settings
from inbound.rules.compiled import CompiledRules
from tests.conftest import EXAMPLE_RULES
from tests.integration.conftest import Stack, start_stack
from tests.support.waiting import eventually

APPOINTMENTS = (EXAMPLE_RULES / "appointments.yaml").read_text(encoding="utf-8")
WITH_MAYBE = APPOINTMENTS.replace("i will be there,", "i will be there, maybe,")
US_SERVICE = """\
service:
  id: us-clinic
  name: US clinic
  region: US
  numbers: ["+12025550100"]
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
"""


@pytest.fixture
async def live(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Stack, Path]]:
    """inbound running on its own copy of the appointments rules."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(EXAMPLE_RULES / "appointments.yaml", folder)
    async for started in start_stack(settings.model_copy(update={"rules_dir": folder})):
        yield started, folder


def payload(text: str, **overrides: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": f"reload-{uuid.uuid4().hex[:12]}",
        "from": "07700 900123",
        "to": "+447700900000",
        "text": text,
    }
    message.update(overrides)
    return message


async def decided(stack: Stack, text: str) -> str:
    """Send `text` and wait for its outcome: an action, or "review"."""
    sent = payload(text)
    assert (await stack.post_generic(sent)).status == 202
    stored = await stack.processed(sent["id"])
    outcome = await stack.outcome_for(sent["id"])
    return outcome.action if outcome is not None else f"review ({stored.status})"


def current_rules(stack: Stack) -> CompiledRules:
    assert stack.running.worker is not None
    return stack.running.rules()


def has_keyword(rules: CompiledRules, keyword: str) -> bool:
    service = rules.book.services["appointments"]
    return any(keyword in rule.keywords for rule in service.rules)


async def test_sighup_reloads_the_rules(live: tuple[Stack, Path]) -> None:
    stack, folder = live
    assert await decided(stack, "maybe") == "review (review)"
    # Only send SIGHUP once the watcher's handler is in place: the default would end the run.
    assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    (folder / "appointments.yaml").write_text(WITH_MAYBE, encoding="utf-8")
    os.kill(os.getpid(), signal.SIGHUP)
    await eventually(
        lambda: _async(current_rules(stack)), lambda rules: has_keyword(rules, "maybe")
    )
    assert await decided(stack, "maybe") == "confirm"


async def test_changed_files_are_picked_up_without_a_signal(live: tuple[Stack, Path]) -> None:
    stack, folder = live
    (folder / "us.yaml").write_text(US_SERVICE, encoding="utf-8")
    await eventually(
        lambda: _async(current_rules(stack)),
        lambda rules: "us-clinic" in rules.book.services,
    )
    # The receiver follows the swap too: a national US sender is read with the new service's
    # region, so the number is stored in E.164.
    sent = payload("yes", to="+12025550100", **{"from": "(202) 555-0123"})
    assert (await stack.post_generic(sent)).status == 202
    stored = await stack.processed(sent["id"])
    assert (stored.sender, stored.service_id) == ("+12025550123", "us-clinic")
    outcome = await stack.outcome_for(sent["id"])
    assert outcome is not None
    assert outcome.action == "confirm"


async def test_invalid_file_is_refused_and_the_old_rules_stay(live: tuple[Stack, Path]) -> None:
    stack, folder = live
    before = current_rules(stack)
    with structlog.testing.capture_logs() as logs:
        broken = APPOINTMENTS.replace("action: confirm", "action: confrm")
        (folder / "appointments.yaml").write_text(broken, encoding="utf-8")
        refused = await eventually(
            lambda: _async([line for line in logs if line["event"] == "rules_reload_refused"]),
            bool,
        )
    assert "appointments.yaml" in refused[0]["first_error"]
    assert "'confrm' is not a known action" in refused[0]["first_error"]
    assert refused[0]["keeping"] == "the rules in force"
    assert current_rules(stack) is before
    assert await decided(stack, "yes") == "confirm"
    # Fixing the file is picked up again.
    (folder / "appointments.yaml").write_text(WITH_MAYBE, encoding="utf-8")
    await eventually(
        lambda: _async(current_rules(stack)), lambda rules: has_keyword(rules, "maybe")
    )


async def _async(value: Any) -> Any:
    return value
