"""GOV.UK Notify's received-text callback through the running stack, over real HTTP.

Bodies and headers as notifications-api's `send_inbound_sms_to_service` posts them: JSON,
`Authorization: Bearer <token>`, `source_number` international without `+`, `destination_number`
national, `date_received` in UTC as `%Y-%m-%dT%H:%M:%S.%fZ`.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from inbound.config import Settings
from inbound.store.models import SpoolEntry
from tests.conftest import EXAMPLE_RULES
from tests.integration.conftest import Answer, Stack, running_stack
from tests.integration.provider_support import nothing_stored, stack_with
from tests.integration.reliability_support import amqp_through, pg_url, proxied
from tests.support.fake_notify import FakeNotify
from tests.support.tcp_proxy import TcpProxy

__all__ = ["pg_url"]  # a fixture

OLD_TOKEN = "old-notify-callback-token"
NEW_TOKEN = "new-notify-callback-token"
LIBRARY_TOKEN = "library-own-callback-token"
LIBRARY_NUMBER = "07700900111"  # as Notify writes the library service's number
LIBRARY_RULES = """
service:
  id: library
  name: Town library renewals
  region: GB
  numbers: ["+447700900111"]
  notify:
    inbound_token_env: LIBRARY_NOTIFY_TOKEN
rules:
  - name: renew
    keywords: [renew]
    action: confirm
"""


@pytest.fixture
async def notify(settings: Settings) -> AsyncIterator[Stack]:
    async for stack in stack_with(settings, notify_inbound_tokens=f"{OLD_TOKEN},{NEW_TOKEN}"):
        yield stack


def library_rules(tmp_path: Path) -> Path:
    """The example rules, plus a library service with its own Notify callback token."""
    folder = tmp_path / "rules"
    shutil.copytree(EXAMPLE_RULES, folder)
    (folder / "library.yaml").write_text(LIBRARY_RULES)
    return folder


@pytest.fixture
async def with_library(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    monkeypatch.setenv("LIBRARY_NOTIFY_TOKEN", LIBRARY_TOKEN)
    changed = {"rules_dir": library_rules(tmp_path), "notify_inbound_tokens": SecretStr(NEW_TOKEN)}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        yield stack


def received(message: str = "YES", destination: str = "07700900000") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "source_number": "447700900123",
        "destination_number": destination,
        "message": message,
        "date_received": "2026-07-14T12:15:30.000000Z",
    }


async def post(stack: Stack, data: dict[str, Any] | bytes, token: str | None = NEW_TOKEN) -> Answer:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return await stack.request("POST", "/webhooks/notify", body, headers)


async def test_received_text_is_stored_with_e164_numbers_and_notifys_utc_time(
    notify: Stack,
) -> None:
    data = received("Yes please")
    answer = await post(notify, data)
    assert answer.status == 200
    stored = await notify.processed(data["id"])
    assert (stored.provider, stored.provider_message_id) == ("notify", data["id"])
    assert (stored.sender, stored.recipient) == ("+447700900123", "+447700900000")
    assert stored.text == "Yes please"
    assert stored.service_id == "appointments"
    # July: Notify's date is UTC already, so nothing is taken off for British Summer Time.
    assert stored.received_at.isoformat() == "2026-07-14T12:15:30+00:00"


async def test_the_same_notify_id_twice_is_stored_once(notify: Stack) -> None:
    data = received("yes")
    assert [(await post(notify, data)).status for _ in range(2)] == [200, 200]
    await notify.processed(data["id"])
    await nothing_stored(notify, expected=1)


@pytest.mark.parametrize("token", [OLD_TOKEN, NEW_TOKEN])
async def test_both_tokens_are_accepted_during_a_rotation(notify: Stack, token: str) -> None:
    data = received()
    assert (await post(notify, data, token=token)).status == 200
    await notify.processed(data["id"])


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer", 401),
        ("Basic bm90aWZ5OnB3", 401),
        ("Bearer wrong-token-of-notify", 403),
        (f"Bearer {NEW_TOKEN}x", 403),
        (f"Bearer {NEW_TOKEN[:-1]}", 403),
    ],
)
async def test_a_missing_or_wrong_token_is_refused_and_nothing_stored(
    notify: Stack, authorization: str | None, status: int
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps(received()).encode()
    answer = await notify.request("POST", "/webhooks/notify", body, headers)
    assert answer.status == status
    assert answer.json()["error"]["field"] == "Authorization"
    await nothing_stored(notify)


async def test_a_missing_token_is_challenged_for_a_bearer_token(notify: Stack) -> None:
    url = notify.base_url + "/webhooks/notify"
    async with notify.http.post(url, json=received()) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source_number": None}, "source_number"),
        ({"destination_number": ""}, "destination_number"),
        ({"id": 12345}, "id"),
        ({"message": ["yes"]}, "message"),
        ({"date_received": "14/07/2026 12:15"}, "date_received"),
    ],
)
async def test_a_body_not_in_notifys_shape_is_422_naming_the_field(
    notify: Stack, change: dict[str, Any], field: str
) -> None:
    data = {**received(), **change}
    answer = await post(notify, {k: v for k, v in data.items() if v is not None})
    assert answer.status == 422
    assert answer.json()["error"]["field"] == field
    await nothing_stored(notify)


async def test_a_number_no_service_owns_is_kept_unassigned(notify: Stack) -> None:
    data = received("yes", destination="07700900999")
    assert (await post(notify, data)).status == 200
    stored = await notify.processed(data["id"])
    assert (stored.recipient, stored.service_id) == ("+447700900999", None)
    review = await notify.review_for(data["id"])
    assert review is not None
    assert review.service_id is None


async def test_a_services_own_token_is_accepted_for_its_numbers_only(with_library: Stack) -> None:
    own = received("renew", destination=LIBRARY_NUMBER)
    assert (await post(with_library, own, token=LIBRARY_TOKEN)).status == 200
    stored = await with_library.processed(own["id"])
    assert (stored.recipient, stored.service_id) == ("+447700900111", "library")
    # The platform token still works for the library's number too.
    platform = received("renew", destination=LIBRARY_NUMBER)
    assert (await post(with_library, platform, token=NEW_TOKEN)).status == 200
    await with_library.processed(platform["id"])
    # Another service's number, or one no service owns: the library's token is not for them.
    for destination in ("07700900000", "07700900999"):
        answer = await post(with_library, received(destination=destination), token=LIBRARY_TOKEN)
        assert answer.status == 403
    await nothing_stored(with_library, expected=2)


async def test_a_services_own_token_alone_enables_the_webhook(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIBRARY_NOTIFY_TOKEN", LIBRARY_TOKEN)
    changed = {"rules_dir": library_rules(tmp_path)}
    async with running_stack(settings.model_copy(update=changed)) as stack:
        data = received("renew", destination=LIBRARY_NUMBER)
        assert (await post(stack, data, token=LIBRARY_TOKEN)).status == 200
        await stack.processed(data["id"])
        assert (await post(stack, received(), token=LIBRARY_TOKEN)).status == 403


async def test_without_a_token_anywhere_the_webhook_is_off(stack: Stack) -> None:
    assert (await post(stack, received())).status == 404


@pytest.fixture
async def broker_proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    async with proxied(amqp_url, 5672) as (proxy, _):
        yield proxy


async def test_a_stalled_broker_is_answered_within_notifys_5_seconds_once_spooled(
    settings: Settings, broker_proxy: TcpProxy
) -> None:
    # INBOUND_SPOOL_AFTER at its default 3 s: Twilio's webhooks would wait all of it; Notify's
    # wait 2 s for the confirm, so the spool write has 1.5 s and the answer beats 5 s.
    changed = {
        "amqp_url": amqp_through(settings.amqp_url, broker_proxy),
        "spool_after": 3.0,
        "notify_inbound_tokens": SecretStr(NEW_TOKEN),
    }
    async with running_stack(settings.model_copy(update=changed)) as stack:
        broker_proxy.stall()  # connected, but no confirm ever comes back
        data = received()
        started = time.monotonic()
        answer = await post(stack, data)
        took = time.monotonic() - started
        async with stack.sessions() as session:
            spooled = list((await session.scalars(select(SpoolEntry.provider_message_id))).all())
        broker_proxy.resume()
        assert answer.status == 200
        assert 2.0 <= took < 4.0, took
        assert spooled == [data["id"]]
        await stack.processed(data["id"])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_broker_and_database_both_down_is_503_within_notifys_5_seconds(
    settings: Settings, pg_url: str, broker_proxy: TcpProxy
) -> None:
    async with proxied(pg_url, 5432) as (db_proxy, db_url):
        changed = {
            "amqp_url": amqp_through(settings.amqp_url, broker_proxy),
            "database_url": db_url,
            "notify_inbound_tokens": SecretStr(NEW_TOKEN),
        }
        async with running_stack(settings.model_copy(update=changed)) as stack:
            broker_proxy.stall()
            db_proxy.stall()
            started = time.monotonic()
            answer = await post(stack, received())
            took = time.monotonic() - started
            db_proxy.resume()
            broker_proxy.resume()
            assert answer.status == 503  # so Notify retries it in 5 minutes
            assert took < 4.5, took


async def test_notifys_own_callback_is_stored_once_and_a_wrong_token_is_not_retried(
    notify: Stack, fake_notify: FakeNotify
) -> None:
    service = fake_notify.add_service(name="Riverside Surgery")
    text = fake_notify.add_received(service, "07700900123", "Yes please")
    url = notify.base_url + "/webhooks/notify"
    delivery = await fake_notify.post_received_text(url, OLD_TOKEN, text)
    assert [attempt.status for attempt in delivery.tries] == [200]
    stored = await notify.processed(text.id)
    assert (stored.sender, stored.recipient, stored.text) == (
        "+447700900123",
        "+447700900000",
        "Yes please",
    )
    assert stored.received_at == text.created_at
    again = await fake_notify.post_received_text(url, NEW_TOKEN, text)
    assert again.delivered
    # A 403 ends Notify's tries at once: only 5xx, 429 and no answer are retried.
    refused = await fake_notify.post_received_text(url, "not-the-token-at-all", text)
    assert [attempt.status for attempt in refused.tries] == [403]
    await nothing_stored(notify, expected=1)
