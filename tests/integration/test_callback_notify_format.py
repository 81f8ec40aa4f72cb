"""`callback.format: notify`: a receiver written for GOV.UK Notify gets every text in Notify's
received-text shape, with its bearer token, over real HTTP from a running stack (issue 17)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from inbound.config import Settings
from tests.integration.conftest import Stack, running_stack
from tests.support.fake_service import FakeService, Received, fake_service
from tests.support.process import inbound_beside
from tests.support.waiting import eventually

TOKEN = "a-token-typed-into-notify-for-tests"
NUMBER = "+447700900001"
RULES = """
service:
  id: surgery
  name: Riverside Surgery
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
    format: notify
    token_env: INBOUND_TEST_NOTIFY_FORMAT_TOKEN
rules:
  - name: cancel
    keywords: [cancel]
    action: cancel
"""
# What Notify's received-text callback holds; a receiver written for Notify reads these.
NOTIFY_FIELDS = {"id", "source_number", "destination_number", "message", "date_received"}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOUND_TEST_NOTIFY_FORMAT_TOKEN", TOKEN)


def rules_dir(tmp_path: Path, url: str) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "surgery.yaml").write_text(RULES.format(number=NUMBER, url=url))
    return folder


def read_as_notify_receiver(request: Received) -> dict[str, str]:
    """What a receiver written for Notify does: check the bearer token, read Notify's fields."""
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    assert set(body) >= NOTIFY_FIELDS
    uuid.UUID(body["id"])
    datetime.strptime(body["date_received"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return {name: body[name] for name in NOTIFY_FIELDS} | {"outcome": body["inbound"]["outcome"]}


async def send(stack: Stack, text: str) -> None:
    payload = {"id": f"nf-{uuid.uuid4().hex[:12]}", "from": "+447700900123", "to": NUMBER}
    assert (await stack.post_generic({**payload, "text": text})).status == 202


async def count(service: FakeService) -> int:
    return len(service.received)


async def test_every_text_reaches_a_notify_receiver_once_decided_or_for_review(
    settings: Settings, tmp_path: Path
) -> None:
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, service.url + "received-texts")
        async with running_stack(settings.model_copy(update={"rules_dir": rules})) as stack:
            await send(stack, "cancel")
            await send(stack, "can I come at 3 instead?")
            await eventually(lambda: count(service), lambda n: n == 2)
            await asyncio.sleep(1)  # nothing more: no outcome event besides the texts
    assert len(service.received) == 2
    texts = sorted(
        (read_as_notify_receiver(request) for request in service.received),
        key=lambda text: text["message"],
    )
    assert [(t["message"], t["outcome"]) for t in texts] == [
        ("can I come at 3 instead?", "review"),
        ("cancel", "processed"),
    ]
    for text in texts:
        assert text["source_number"] == "447700900123"
        assert text["destination_number"] == "07700900001"
    assert len({text["id"] for text in texts}) == 2


async def test_callbacks_test_sends_a_text_in_notifys_shape_and_needs_the_token(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with fake_service([204]) as service:
        env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, service.url))
        code, out, err = await inbound_beside(env, "callbacks", "test", "surgery")
        assert code != 0
        assert "INBOUND_TEST_NOTIFY_FORMAT_TOKEN is not set" in out + err
        env["INBOUND_TEST_NOTIFY_FORMAT_TOKEN"] = TOKEN
        code, out, err = await inbound_beside(env, "callbacks", "test", "surgery")
    assert code == 0, err
    assert "204" in out
    [request] = service.received
    assert read_as_notify_receiver(request)["destination_number"] == "07700900001"
