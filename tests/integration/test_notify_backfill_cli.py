"""`inbound notify backfill`, run as an operator runs it (its own process) beside a running
inbound, against the fake Notify over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from inbound.config import Settings
from tests.conftest import settings_for
from tests.integration.conftest import Stack
from tests.integration.notify_backfill_support import (
    CALLBACK_TOKEN,
    KEY_ENV,
    NOTIFY_NUMBER,
    SERVICE,
    notify_messages,
    notify_rules,
)
from tests.integration.provider_support import nothing_stored
from tests.support.fake_notify import FakeNotify
from tests.support.process import inbound
from tests.support.waiting import eventually

__all__ = ["settings"]  # a fixture


@pytest.fixture
def settings(
    database_url: str, amqp_url: str, namespace: str, tmp_path: Path, fake_notify: FakeNotify
) -> Settings:
    """The `notified` and `plain` services, /webhooks/notify on, the worker's poller off."""
    return settings_for(
        database_url,
        amqp_url,
        namespace,
        rules_dir=notify_rules(tmp_path),
        notify_base_url=fake_notify.url,
        notify_inbound_tokens=SecretStr(CALLBACK_TOKEN),
        notify_poll_every=0,
    )


def cli_env(settings: Settings, **more: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    clean.pop(KEY_ENV, None)
    return {
        **clean,
        "INBOUND_DATABASE_URL": settings.database_url,
        "INBOUND_AMQP_URL": settings.amqp_url,
        "INBOUND_AMQP_NAMESPACE": settings.amqp_namespace,
        "INBOUND_RULES_DIR": str(settings.rules_dir),
        "INBOUND_NOTIFY_BASE_URL": settings.notify_base_url,
        **more,
    }


async def test_backfill_publishes_what_inbound_lacks_back_to_since_and_says_so(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    now = datetime.now(UTC)

    def text(content: str, age: timedelta) -> str:
        return fake_notify.add_received(
            service, "447700900123", content, notify_number=NOTIFY_NUMBER, created_at=now - age
        ).id

    recent = [text("yes", timedelta(minutes=n)) for n in (1, 2)]
    delivered = [text("yes", timedelta(hours=n)) for n in (1, 2)]
    older = text("yes", timedelta(days=3))  # beyond --since 2d
    for notify_id in delivered:  # these came by Notify's callback
        sent = next(t for t in service.received if t.id == notify_id)
        url = stack.base_url + "/webhooks/notify"
        assert (await fake_notify.post_received_text(url, CALLBACK_TOKEN, sent)).delivered
    await eventually(lambda: notify_messages(stack), lambda found: len(found) == 2)

    env = cli_env(settings, **{KEY_ENV: key})
    ran = await asyncio.to_thread(inbound, env, "notify", "backfill", SERVICE, "--since", "2d")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(f"backfilled {SERVICE} from Notify in ")
    assert "4 texts read, 2 published, 2 inbound already had" in ran.stdout
    assert f"[{'#' * 30}] 100%  4 texts read" in ran.stderr
    found = await eventually(lambda: notify_messages(stack), lambda found: len(found) == 4)
    assert found == dict.fromkeys(recent + delivered, 1)
    assert older not in found

    again = await asyncio.to_thread(inbound, env, "notify", "backfill", SERVICE, "--since", "7d")
    assert again.returncode == 0, again.stderr
    assert "5 texts read, 1 published, 4 inbound already had" in again.stdout
    await eventually(lambda: notify_messages(stack), lambda found: older in found)
    await nothing_stored(stack, expected=5)


async def test_backfill_says_what_to_fix(
    stack: Stack, settings: Settings, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service()
    key = fake_notify.mint_key(service)
    env = cli_env(settings, **{KEY_ENV: key})

    async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
        ran = await asyncio.to_thread(inbound, env, "notify", "backfill", *args)
        assert ran.stdout == ""
        return ran.returncode, ran.stderr

    code, err = await run(env, "nosuch")
    assert code == 2
    assert "no service 'nosuch' in the rule files (services: notified, plain)" in err
    code, err = await run(env, "plain")
    assert code == 2
    assert "service 'plain' has no Notify API key" in err
    assert "api_key_env" in err
    code, err = await run(cli_env(settings), SERVICE)
    assert code == 2
    assert f"{KEY_ENV} is not set" in err
    code, err = await run(cli_env(settings, **{KEY_ENV: "not-a-key"}), SERVICE)
    assert code == 2
    assert "not a Notify API key" in err
    code, err = await run(env, SERVICE, "--since", "8d")
    assert code == 2
    assert "Notify keeps received texts 7 days" in err
    fake_notify.revoke(key)
    code, err = await run(env, SERVICE)
    assert code == 2
    assert "Notify answered 403: Invalid token: API key revoked" in err
    assert "Traceback" not in err
