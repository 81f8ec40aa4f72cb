"""Outcomes reach the service: signed callbacks with retries, auto-replies, opt-outs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from structlog.testing import capture_logs

from inbound.config import Settings
from inbound.store.models import Action, OptOut, ReviewItem
from tests.integration.conftest import Stack, running_stack
from tests.support.fake_notify import FakeNotify
from tests.support.fake_service import FakeService, fake_service
from tests.support.process import INBOUND, free_port, inbound_beside
from tests.support.waiting import eventually

CALLBACK_SECRET = "callback-secret-for-tests"
NOTIFY_SERVICE = str(uuid.UUID(int=1))
NOTIFY_SECRET = str(uuid.UUID(int=2))
NOTIFY_KEY = f"inbound_test-{NOTIFY_SERVICE}-{NOTIFY_SECRET}"
TEMPLATE = str(uuid.UUID(int=3))

RULES = """
service:
  id: {id}
  name: Service {id}
  region: GB
  numbers: ["{number}"]
  callback:
    url: {url}
    secret_env: INBOUND_TEST_CALLBACK_SECRET
rules:
  - name: confirm
    keywords: ["yes"]
    action: confirm
    reply: Thanks, confirmed.
  - name: cancel
    keywords: [cancel]
    action: cancel
  - name: stop
    keywords: [stop]
    action: opt_out
    reply: You will get no more texts from us.
  - name: start
    keywords: [start]
    action: opt_in
    reply: Welcome back.
"""
ALPHA, BETA = "+447700900001", "+447700900002"


def rules_dir(tmp_path: Path, services: Sequence[tuple[str, str, str]]) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for service_id, number, url in services:
        (folder / f"{service_id}.yaml").write_text(
            RULES.format(id=service_id, number=number, url=url)
        )
    return folder


@pytest.fixture(autouse=True)
def callback_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOUND_TEST_CALLBACK_SECRET", CALLBACK_SECRET)


def with_notify_service(fake_notify: FakeNotify) -> FakeNotify:
    """The fake GOV.UK Notify, given the service NOTIFY_KEY belongs to and its ((body))
    template."""
    service = fake_notify.add_service(templates={TEMPLATE: "((body))"}, service_id=NOTIFY_SERVICE)
    fake_notify.mint_key(service, name="inbound_test", secret=NOTIFY_SECRET)
    return fake_notify


@pytest.fixture
def notify(fake_notify: FakeNotify) -> FakeNotify:
    return with_notify_service(fake_notify)


def configured(settings: Settings, rules: Path, notify: FakeNotify, **changes: Any) -> Settings:
    update: dict[str, Any] = {
        "rules_dir": rules,
        "sender": "notify",
        "notify_base_url": notify.url,
        "notify_api_key": SecretStr(NOTIFY_KEY),
        "notify_template_id": TEMPLATE,
    }
    update.update(changes)
    return settings.model_copy(update=update)


async def send(stack: Stack, text: str, to: str = ALPHA, sender: str = "+447700900123") -> str:
    message_id = f"act-{uuid.uuid4().hex[:12]}"
    payload = {"id": message_id, "from": sender, "to": to, "text": text}
    assert (await stack.post_generic(payload)).status == 202
    return message_id


async def actions(stack: Stack) -> list[Action]:
    async with stack.sessions() as session:
        return list((await session.scalars(select(Action).order_by(Action.id))).all())


def verify(secret: str, signature: str, body: bytes) -> bool:
    """How a service checks our signature (the README's recipe)."""
    parts = dict(item.split("=", 1) for item in signature.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return (
        hmac.compare_digest(expected.hexdigest(), parts["v1"])
        and abs(time.time() - int(parts["t"])) < 300
    )


async def test_outcome_callback_arrives_signed_and_verifiable(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url + "outcomes")])
        async with running_stack(configured(settings, rules, notify)) as stack:
            message_id = await send(stack, "cancel")
            await eventually(lambda: _count(service), lambda n: n == 1)
    request = service.received[0]
    assert request.path == "/outcomes"
    assert verify(CALLBACK_SECRET, request.headers["X-Inbound-Signature"], request.body)
    assert not verify("another-secret", request.headers["X-Inbound-Signature"], request.body)
    event = request.json()
    assert event["action"] == "cancel"
    assert event["service"] == "alpha"
    assert event["sender"] == "+447700900123"
    assert event["message"] == {"provider": "generic", "id": message_id}
    assert event["decided_by"] == {"rule": "cancel"}
    assert request.headers["Idempotency-Key"] == event["id"]


async def _count(service: FakeService | FakeNotify) -> int:
    """Requests the fake service took, or texts the fake Notify accepted."""
    return len(service.sent if isinstance(service, FakeNotify) else service.received)


async def test_flaky_callback_is_delivered_once_with_one_idempotency_key(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([503, 503, 503, 200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        changed = configured(settings, rules, notify, callback_max_attempts=6)
        async with running_stack(changed) as stack:
            await send(stack, "cancel")
            done = await eventually(
                lambda: actions(stack), lambda rows: rows and rows[0].state == "delivered"
            )
    assert done[0].attempts == 4
    assert len(service.received) == 4
    keys = {request.headers["Idempotency-Key"] for request in service.received}
    assert len(keys) == 1


async def test_dead_callback_ends_in_review_after_the_configured_attempts(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([503]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        async with running_stack(configured(settings, rules, notify)) as stack:
            message_id = await send(stack, "cancel")
            review = await eventually(
                lambda: stack.review_for(message_id), lambda item: item is not None
            )
            rows = await actions(stack)
    assert review is not None
    assert review.reason == "callback failed: HTTP 503 after 4 attempts"
    assert rows[0].state == "failed"
    assert len(service.received) == 4


async def test_a_client_error_is_not_retried(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([400]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        async with running_stack(configured(settings, rules, notify)) as stack:
            message_id = await send(stack, "cancel")
            await eventually(lambda: stack.review_for(message_id), lambda item: item is not None)
    assert len(service.received) == 1


async def test_worker_stopped_mid_retry_loses_nothing(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([503, 503, 200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        # Long delays: the action is sitting in a delay queue when the worker stops.
        changed = configured(settings, rules, notify, retry_delays=[1.5], callback_max_attempts=6)
        async with running_stack(changed) as stack:
            await send(stack, "cancel")
            await eventually(lambda: _count(service), lambda n: n == 1)
        async with running_stack(changed) as stack:
            done = await eventually(
                lambda: actions(stack),
                lambda rows: rows and rows[0].state == "delivered",
                within=20,
            )
    assert done[0].attempts == 3
    assert len({r.headers["Idempotency-Key"] for r in service.received}) == 1


async def test_a_dead_service_does_not_hold_up_another(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([503], delay=1.5) as dead, fake_service([200]) as alive:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, dead.url), ("beta", BETA, alive.url)])
        changed = configured(settings, rules, notify, callback_max_attempts=50)
        async with running_stack(changed) as stack:
            for _ in range(15):
                await send(stack, "cancel", to=ALPHA)
            started = time.monotonic()
            for _ in range(10):
                await send(stack, "cancel", to=BETA)
            await eventually(lambda: _count(alive), lambda n: n == 10, within=10)
            elapsed = time.monotonic() - started
    # Fifteen slow failures would take over 20 s one after another; the live service's ten
    # callbacks went through alongside them.
    assert elapsed < 10


async def test_auto_reply_goes_through_notify_and_is_capped_per_sender(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        async with running_stack(
            configured(settings, rules, notify, reply_cap_per_hour=3)
        ) as stack:
            for _ in range(5):
                await send(stack, "yes")
            await eventually(lambda: _count(service), lambda n: n == 5)
            rows = await eventually(
                lambda: actions(stack),
                lambda found: sum(a.state == "delivered" and a.kind == "reply" for a in found) == 3,
            )
    replies = [row for row in rows if row.kind == "reply"]
    assert sorted(row.state for row in replies) == ["delivered"] * 3 + ["suppressed"] * 2
    assert {row.last_error for row in replies if row.state == "suppressed"} == {
        "reply cap reached (3 an hour)"
    }
    # The fake Notify accepted them: its JWT check (iss the service, a fresh iat) passed.
    assert len(notify.sent) == 3
    sms = notify.sent[0]
    assert (sms.service_id, sms.phone_number) == (NOTIFY_SERVICE, "+447700900123")
    assert (sms.template_id, sms.body) == (TEMPLATE, "Thanks, confirmed.")
    assert sms.sms_sender_id is None  # no notify block: Notify's default sender


OWN_TEMPLATE = str(uuid.UUID(int=4))
OWN_SENDER = str(uuid.UUID(int=5))
NOTIFY_BLOCK = """
  notify:
    api_key_env: INBOUND_TEST_ALPHA_NOTIFY_KEY
    sms_sender_id: {sender}
    template_id: {template}
"""


async def test_a_services_own_notify_key_and_sender_send_its_replies(
    settings: Settings,
    tmp_path: Path,
    notify: FakeNotify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # alpha has a Notify service of its own: its key (named in its rule file), its template,
    # and the sender that is the number people text. beta has none: the global key.
    own = notify.add_service(
        templates={OWN_TEMPLATE: "((body))"}, sms_senders={OWN_SENDER: "07700900001"}
    )
    monkeypatch.setenv("INBOUND_TEST_ALPHA_NOTIFY_KEY", notify.mint_key(own))
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url), ("beta", BETA, service.url)])
        alpha = rules / "alpha.yaml"
        block = NOTIFY_BLOCK.format(sender=OWN_SENDER, template=OWN_TEMPLATE)
        alpha.write_text(alpha.read_text().replace("\nrules:", block + "rules:", 1))
        async with running_stack(configured(settings, rules, notify)) as stack:
            await send(stack, "yes", to=ALPHA)
            await send(stack, "yes", to=BETA)
            await eventually(lambda: _count(notify), lambda n: n == 2)
    by_service = {sms.service_id: sms for sms in notify.sent}
    assert set(by_service) == {own.id, NOTIFY_SERVICE}
    mine = by_service[own.id]
    assert (mine.from_number, mine.sms_sender_id, mine.template_id) == (
        "07700900001",
        OWN_SENDER,
        OWN_TEMPLATE,
    )
    assert by_service[NOTIFY_SERVICE].sms_sender_id is None


async def test_opt_out_register_stops_replies_until_opt_in(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        changed = configured(settings, rules, notify, reply_cap_per_hour=10)
        async with running_stack(changed) as stack:
            # One at a time, each outcome's callback seen before the next text, so the register
            # changes in the order the person texted.
            for sent, text in enumerate(["stop", "yes", "start", "yes"], start=1):
                await send(stack, text)
                await eventually(lambda: _count(service), lambda n, sent=sent: n == sent)
            await eventually(lambda: _count(notify), lambda n: n == 3)
            async with stack.sessions() as session:
                opted = (await session.scalars(select(OptOut))).all()
            rows = await actions(stack)
    assert opted == []  # "start" took the number off the register again
    replies = [(row.payload["text"], row.state) for row in rows if row.kind == "reply"]
    assert replies == [
        ("You will get no more texts from us.", "delivered"),
        ("Thanks, confirmed.", "suppressed"),
        ("Welcome back.", "delivered"),
        ("Thanks, confirmed.", "delivered"),
    ]
    assert [event.json()["action"] for event in service.received] == [
        "opt_out",
        "confirm",
        "opt_in",
        "confirm",
    ]


async def test_reviews_are_not_created_for_delivered_actions(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        async with running_stack(configured(settings, rules, notify)) as stack:
            await send(stack, "yes")
            await eventually(lambda: _count(notify), lambda n: n == 1)
            assert await stack.count(ReviewItem) == 0


async def test_callbacks_test_command_sends_a_signed_test_event(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with fake_service([204]) as service:
        env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, [("alpha", ALPHA, service.url)]))
        env["INBOUND_TEST_CALLBACK_SECRET"] = CALLBACK_SECRET
        code, out, err = await inbound_beside(env, "callbacks", "test", "alpha")
    assert code == 0, err
    assert "204" in out
    [request] = service.received
    assert request.json()["type"] == "test"
    assert verify(CALLBACK_SECRET, request.headers["X-Inbound-Signature"], request.body)


async def test_callbacks_test_command_reports_a_failing_endpoint(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with fake_service([500]) as service:
        env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, [("alpha", ALPHA, service.url)]))
        env["INBOUND_TEST_CALLBACK_SECRET"] = CALLBACK_SECRET
        code, out, _ = await inbound_beside(env, "callbacks", "test", "alpha")
        unknown, _, unknown_err = await inbound_beside(env, "callbacks", "test", "nosuch")
    assert code == 1
    assert "failed (HTTP 500)" in out
    assert unknown == 2
    assert "no service 'nosuch'" in unknown_err


async def _start(env: dict[str, str], logs: Path) -> asyncio.subprocess.Process:
    out = logs.with_suffix(".out")
    with out.open("w") as stdout, logs.with_suffix(".err").open("a") as stderr:
        process = await asyncio.create_subprocess_exec(
            INBOUND, "run", env=env, stdout=stdout, stderr=stderr
        )

    async def printed() -> str:
        return out.read_text()

    await eventually(printed, lambda text: "listening on" in text)
    return process


async def test_worker_killed_mid_retry_delivers_once_after_restart(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with fake_service([503, 503, 200]) as service:
        env["INBOUND_RULES_DIR"] = str(rules_dir(tmp_path, [("alpha", ALPHA, service.url)]))
        env["INBOUND_TEST_CALLBACK_SECRET"] = CALLBACK_SECRET
        env["INBOUND_RETRY_DELAYS"] = "1"
        # Killed while it held the action's claim, the second run waits for the claim to lapse
        # (the timeout plus a 5 s margin) before the sweep hands the action over again.
        env["INBOUND_CALLBACK_TIMEOUT"] = "3"
        code, _, err = await inbound_beside(env, "migrate")
        assert code == 0, err
        first = await _start(env, tmp_path / "first")
        try:
            code, _, err = await inbound_beside(
                env, "send", "cancel", "--to", ALPHA, "--id", "kill-1"
            )
            assert code == 0, err
            await eventually(lambda: _count(service), lambda n: n == 1)
        finally:
            first.send_signal(signal.SIGKILL)  # no clean-up at all: the retry is mid-flight
            await asyncio.wait_for(first.wait(), 10)
        second = await _start(env, tmp_path / "second")
        try:
            await eventually(lambda: _count(service), lambda n: n == 3, within=30)
            code, out, err = await inbound_beside(env, "trace", "kill-1", "--json")
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 20)
    assert code == 0, err
    assert json.loads(out)["action"] == "cancel"
    assert len({request.headers["Idempotency-Key"] for request in service.received}) == 1
    await asyncio.sleep(1.5)  # a further retry would have come by now
    assert len(service.received) == 3


async def test_actions_left_unpublished_are_swept_onto_the_queue(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    async with fake_service([200]) as service:
        rules = rules_dir(tmp_path, [("alpha", ALPHA, service.url)])
        async with running_stack(configured(settings, rules, notify)) as stack:
            message_id = await send(stack, "cancel")
            await eventually(lambda: _count(service), lambda n: n == 1)
            # Fake a worker that died between commit and publish: a committed, pending action
            # that never reached RabbitMQ, created long enough ago for the sweep to take it.
            async with stack.sessions.begin() as session:
                original = (await session.scalars(select(Action))).one()
                session.add(
                    Action(
                        message_id=original.message_id,
                        service_id="alpha",
                        kind="callback",
                        idempotency_key="swept-1",
                        payload=original.payload,
                        state="pending",
                        attempts=0,
                        created_at=datetime.now(UTC) - timedelta(minutes=1),
                    )
                )
            await eventually(lambda: _count(service), lambda n: n == 2, within=20)
    assert service.received[1].headers["Idempotency-Key"] == "swept-1"
    assert message_id


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("refused", "ClientConnectorError: Cannot connect to host 127.0.0.1:"),
        ("503", "HTTP 503"),
        ("hangs", "timeout after 0.5 s"),
    ],
)
async def test_every_retry_and_give_up_line_says_why(
    settings: Settings, tmp_path: Path, notify: FakeNotify, fault: str, why: str
) -> None:
    async with fake_service([503], delay=2.0 if fault == "hangs" else 0.0) as service:
        # Nothing listens on a port just found free: the connection is refused.
        url = f"http://127.0.0.1:{free_port()}/in" if fault == "refused" else service.url
        rules = rules_dir(tmp_path, [("alpha", ALPHA, url)])
        changed = configured(settings, rules, notify, callback_max_attempts=2, callback_timeout=0.5)
        with capture_logs() as logs:
            async with running_stack(changed) as stack:
                message_id = await send(stack, "cancel")
                await eventually(lambda: stack.review_for(message_id), lambda item: item)
    lines = [line for line in logs if line["event"].startswith("action_")]
    retried = [line for line in lines if line["event"] == "action_retry_scheduled"]
    gave_up = [line for line in lines if line["event"] == "action_gave_up"]
    print(f"\n{fault}: {[(line['event'], line['reason']) for line in retried + gave_up]}")
    assert len(retried) == 1
    assert len(gave_up) == 1
    for line in retried + gave_up:
        assert line["reason"].startswith(why), line
        assert line["kind"] == "callback"
        assert "cancel" not in line["reason"]  # nothing of the message
        assert CALLBACK_SECRET not in str(line)
