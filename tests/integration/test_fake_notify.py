"""The fake GOV.UK Notify refuses what Notify refuses and answers as Notify does, over HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.support.fake_notify import (
    CLOCK_ERROR,
    GENERAL_TOKEN_ERROR,
    TEAM_ONLY_ERROR,
    FakeNotify,
    FakeNotifyService,
)
from tests.support.fake_service import fake_service

TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
SENDER_ID = "2b9ee1f8-7f0e-4d4a-8a43-9d5e6f1c0a11"
TO = "+447700900123"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def service(fake_notify: FakeNotify) -> FakeNotifyService:
    return fake_notify.add_service(
        templates={TEMPLATE: "((body))"},
        sms_senders={SENDER_ID: "07700900111"},
        team_numbers=["07700900222"],
    )


def token(key: str, *, age: float = 0, **changes: Any) -> str:
    """A token the way Notify's clients make one, `age` seconds old, with `changes` to its
    claims, algorithm or secret (a claim changed to None is left out)."""
    service_id, secret = key[-73:-37], key[-36:]
    algorithm = changes.pop("algorithm", "HS256")
    secret = changes.pop("secret", secret)
    claims: dict[str, Any] = {"iss": service_id, "iat": int(time.time() - age)}
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, secret, algorithm=algorithm)


async def call(
    http: aiohttp.ClientSession,
    notify: FakeNotify,
    authorization: str | None,
    body: Any = None,
    path: str = "v2/notifications/sms",
) -> tuple[int, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    if body is None and path.startswith("v2/received"):
        request = http.get(notify.url + path, headers=headers)
    else:
        request = http.post(notify.url + path, json=body, headers=headers)
    async with request as response:
        return response.status, await response.json()


def sms(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phone_number": TO,
        "template_id": TEMPLATE,
        "personalisation": {"body": "Thanks, your appointment is confirmed."},
        "reference": "reply-1",
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def auth_error(status: int, message: str) -> tuple[int, Any]:
    return status, {"status_code": status, "errors": [{"error": "AuthError", "message": message}]}


async def test_a_fresh_token_from_the_key_sends_and_is_recorded(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    status, body = await call(http, fake_notify, f"Bearer {token(key)}", sms())
    assert status == 201
    assert body["content"] == {
        "body": "Thanks, your appointment is confirmed.",
        "from_number": "GOVUK",
    }
    assert body["reference"] == "reply-1"
    assert body["template"]["id"] == TEMPLATE
    assert body["uri"] == f"{fake_notify.url}v2/notifications/{body['id']}"
    [sent] = fake_notify.sent
    assert (sent.id, sent.phone_number, sent.body) == (body["id"], TO, body["content"]["body"])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, auth_error(401, "Unauthorized: authentication token must be provided")),
        ("Basic abc", auth_error(401, "Unauthorized: authentication bearer scheme must be used")),
        ("Bearer not-a-jwt", auth_error(403, GENERAL_TOKEN_ERROR)),
    ],
)
async def test_no_token_or_not_a_bearer_jwt_is_refused(
    http: aiohttp.ClientSession,
    fake_notify: FakeNotify,
    service: FakeNotifyService,
    header: str | None,
    expected: tuple[int, Any],
) -> None:
    assert await call(http, fake_notify, header, sms()) == expected
    assert fake_notify.sent == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"age": 32}, CLOCK_ERROR),  # older than Notify's 30 s
        ({"age": -32}, CLOCK_ERROR),  # from a clock running ahead
        ({"iss": None}, "Invalid token: iss field not provided"),
        ({"iss": "my-service"}, "Invalid token: service id is not the right data type"),
        ({"iss": str(uuid.uuid4())}, "Invalid token: service not found"),
        ({"secret": str(uuid.uuid4())}, "Invalid token: API key not found"),
        ({"iat": None}, "Invalid token: API key not found"),  # as Notify: a decode error
        ({"algorithm": "HS512"}, "Invalid token: algorithm used is not HS256"),
    ],
    ids=[
        "old-iat",
        "future-iat",
        "no-iss",
        "iss-not-uuid",
        "unknown-service",
        "wrong-secret",
        "no-iat",
        "hs512",
    ],
)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512's key
async def test_a_token_notify_refuses_is_403_with_its_words(
    http: aiohttp.ClientSession,
    fake_notify: FakeNotify,
    service: FakeNotifyService,
    changes: dict[str, Any],
    message: str,
) -> None:
    key = fake_notify.mint_key(service)
    bearer = f"Bearer {token(key, **changes)}"
    assert await call(http, fake_notify, bearer, sms()) == auth_error(403, message)
    assert fake_notify.sent == []


async def test_a_token_within_the_clock_bound_and_any_of_the_keys_is_accepted(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    fake_notify.mint_key(service)
    second = fake_notify.mint_key(service, name="second")
    for age in (25, -25):
        status, _ = await call(http, fake_notify, f"Bearer {token(second, age=age)}", sms())
        assert status == 201


async def test_a_revoked_key_is_refused(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    fake_notify.revoke(key)
    answer = await call(http, fake_notify, f"Bearer {token(key)}", sms())
    assert answer == auth_error(403, "Invalid token: API key revoked")


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        (sms(phone_number=None), ["phone_number is a required property"]),
        (sms(template_id="t-1"), ["template_id is not a valid UUID"]),
        (sms(sms_sender_id="s-1"), ["sms_sender_id is not a valid UUID"]),
        (sms(phone_number="0770090"), ["phone_number Not enough digits"]),
        (sms(phone_number="07700 9OO 123"), ["phone_number Must not contain letters or symbols"]),
        (sms(colour="blue"), ["Additional properties are not allowed (colour was unexpected)"]),
        (
            sms(phone_number=None, template_id=None),
            ["phone_number is a required property", "template_id is a required property"],
        ),
    ],
)
async def test_a_body_outside_notifys_schema_is_a_400_validation_error(
    http: aiohttp.ClientSession,
    fake_notify: FakeNotify,
    service: FakeNotifyService,
    body: dict[str, Any],
    messages: list[str],
) -> None:
    key = fake_notify.mint_key(service)
    status, answer = await call(http, fake_notify, f"Bearer {token(key)}", body)
    assert status == 400
    assert answer == {
        "status_code": 400,
        "errors": [{"error": "ValidationError", "message": m} for m in messages],
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (sms(template_id=str(uuid.uuid4())), "Template not found"),
        (sms(personalisation={}), "Missing personalisation: body"),
        (
            sms(sms_sender_id=SENDER_ID.replace("2b", "3c")),
            "sms_sender_id {} does not exist in database for service id {}",
        ),
    ],
)
async def test_what_the_service_lacks_is_a_400_bad_request(
    http: aiohttp.ClientSession,
    fake_notify: FakeNotify,
    service: FakeNotifyService,
    body: dict[str, Any],
    message: str,
) -> None:
    key = fake_notify.mint_key(service)
    status, answer = await call(http, fake_notify, f"Bearer {token(key)}", body)
    expected = message.format(body.get("sms_sender_id"), service.id)
    assert (status, answer["errors"]) == (400, [{"error": "BadRequestError", "message": expected}])


async def test_the_sms_sender_id_chooses_the_number_the_text_comes_from(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    status, body = await call(
        http, fake_notify, f"Bearer {token(key)}", sms(sms_sender_id=SENDER_ID)
    )
    assert (status, body["content"]["from_number"]) == (201, "07700900111")
    assert fake_notify.sent[0].sms_sender_id == SENDER_ID


async def test_a_team_only_key_sends_to_the_team_and_nobody_else(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service, key_type="team")
    outside = await call(http, fake_notify, f"Bearer {token(key)}", sms())
    assert outside == (
        400,
        {"status_code": 400, "errors": [{"error": "BadRequestError", "message": TEAM_ONLY_ERROR}]},
    )
    inside, _ = await call(
        http, fake_notify, f"Bearer {token(key)}", sms(phone_number="+44 7700 900222")
    )
    assert inside == 201
    assert [s.phone_number for s in fake_notify.sent] == ["+44 7700 900222"]


async def test_the_next_sends_can_be_refused_with_429_and_500(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    fake_notify.fail_next(429)
    fake_notify.fail_next(500)
    answers = [await call(http, fake_notify, f"Bearer {token(key)}", sms()) for _ in range(3)]
    assert answers[0] == (
        429,
        {
            "status_code": 429,
            "errors": [
                {
                    "error": "RateLimitError",
                    "message": "Exceeded rate limit for key type LIVE of 3000 requests "
                    "per 60 seconds",
                }
            ],
        },
    )
    assert answers[1][0] == 500
    assert answers[1][1]["errors"][0]["message"] == "Internal server error"
    assert answers[2][0] == 201
    assert len(fake_notify.sent) == 1


async def test_received_texts_come_newest_first_250_a_page_following_the_cursor(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    texts = [
        fake_notify.add_received(
            service, "07700900123", f"text {i}", created_at=start + timedelta(seconds=i)
        )
        for i in range(600)
    ]
    other = fake_notify.add_service()
    fake_notify.add_received(other, "07700900999", "not this service's")
    key = fake_notify.mint_key(service)
    pages: list[list[dict[str, str]]] = []
    path = "v2/received-text-messages"
    while True:
        status, body = await call(http, fake_notify, f"Bearer {token(key)}", path=path)
        assert status == 200
        assert body["links"]["current"] == f"{fake_notify.url}v2/received-text-messages"
        pages.append(body["received_text_messages"])
        if not body["received_text_messages"]:
            assert "next" not in body["links"]
            break
        assert body["links"]["next"].endswith(f"?older_than={pages[-1][-1]['id']}")
        path = body["links"]["next"].removeprefix(fake_notify.url)
    assert [len(page) for page in pages] == [250, 250, 100, 0]
    newest = [item["id"] for page in pages for item in page]
    assert newest == [t.id for t in reversed(texts)]
    first = pages[0][0]
    assert set(first) == {
        "id",
        "user_number",
        "notify_number",
        "created_at",
        "service_id",
        "content",
    }
    assert (first["user_number"], first["service_id"]) == ("447700900123", service.id)
    assert datetime.strptime(first["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")


async def test_received_texts_older_than_notifys_retention_are_gone(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    now = datetime.now(UTC)
    fake_notify.add_received(service, "07700900123", "old", created_at=now - timedelta(days=9))
    kept = fake_notify.add_received(service, "07700900123", "new", created_at=now)
    key = fake_notify.mint_key(service)
    _, body = await call(
        http, fake_notify, f"Bearer {token(key)}", path="v2/received-text-messages"
    )
    assert [t["id"] for t in body["received_text_messages"]] == [kept.id]


async def test_received_texts_refuse_a_cursor_that_is_not_a_uuid_and_a_bad_token(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    path = "v2/received-text-messages?older_than=42"
    status, body = await call(http, fake_notify, f"Bearer {token(key)}", path=path)
    assert (status, body["errors"][0]["message"]) == (400, "older_than is not a valid UUID")
    old = f"Bearer {token(key, age=60)}"
    answer = await call(http, fake_notify, old, path="v2/received-text-messages")
    assert answer == auth_error(403, CLOCK_ERROR)


async def test_the_received_text_callback_is_notifys_json_with_the_bearer_token(
    fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    text = fake_notify.add_received(service, "07700900123", "Yes please")
    async with fake_service([200]) as receiver:
        delivery = await fake_notify.post_received_text(receiver.url, "token-of-ten", text)
    assert delivery.delivered
    assert len(delivery.tries) == 1
    [request] = receiver.received
    assert request.headers["Authorization"] == "Bearer token-of-ten"
    assert request.json() == {
        "id": text.id,
        "source_number": "447700900123",
        "destination_number": "07700900000",
        "message": "Yes please",
        "date_received": text.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


@pytest.mark.parametrize(
    ("script", "tries"),
    [
        ([500, 429, 503, 200], [500, 429, 503, 200]),  # retried on 5xx and 429 until taken
        ([503], [503] * 6),  # five retries after the first try, then given up
        ([500, 400], [500, 400]),  # any other 4xx is final
        ([401], [401]),
    ],
)
async def test_callbacks_are_retried_only_on_5xx_and_429_five_times(
    fake_notify: FakeNotify, service: FakeNotifyService, script: list[int], tries: list[int]
) -> None:
    text = fake_notify.add_received(service, "07700900123", "Yes")
    async with fake_service(script) as receiver:
        delivery = await fake_notify.post_received_text(receiver.url, "token-of-ten", text)
    assert [t.status for t in delivery.tries] == tries
    assert len(receiver.received) == len(tries)


async def test_callbacks_are_retried_when_nothing_answers(
    fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = fake_notify.add_received(service, "07700900123", "Yes")
    delivery = await fake_notify.post_received_text(f"http://127.0.0.1:{port}/", "t" * 10, text)
    assert [t.status for t in delivery.tries] == [None] * 6
    assert not delivery.delivered


async def test_the_delivery_status_callback_carries_the_services_reference(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    await call(http, fake_notify, f"Bearer {token(key)}", sms(reference="appt-77"))
    [sent] = fake_notify.sent
    async with fake_service([200]) as receiver:
        await fake_notify.post_delivery_status(receiver.url, "token-of-ten", sent)
    body = receiver.received[0].json()
    assert set(body) == {
        "id",
        "reference",
        "to",
        "status",
        "created_at",
        "completed_at",
        "sent_at",
        "notification_type",
        "template_id",
        "template_version",
    }
    assert (body["id"], body["reference"], body["status"]) == (sent.id, "appt-77", "delivered")
    assert (body["notification_type"], body["template_id"]) == ("sms", TEMPLATE)


async def test_notifys_own_python_client_works_against_the_fake(
    fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    # notifications-python-client is synchronous (requests): run it off the event loop the
    # fake serves on. It makes its own JWT, follows `links.next` by its `older_than`, and reads
    # refusals from Notify's error JSON: all three must work as against Notify.
    client = NotificationsAPIClient(fake_notify.mint_key(service), base_url=fake_notify.url)
    start = datetime.now(UTC) - timedelta(hours=1)
    for i in range(300):
        fake_notify.add_received(
            service, "07700900123", f"text {i}", created_at=start + timedelta(seconds=i)
        )
    sent = await asyncio.to_thread(
        client.send_sms_notification, TO, TEMPLATE, {"body": "Hello"}, "ref-9", SENDER_ID
    )
    texts = await asyncio.to_thread(lambda: list(client.get_received_texts_iterator()))
    with pytest.raises(HTTPError) as refused:
        await asyncio.to_thread(client.send_sms_notification, TO, str(uuid.uuid4()))
    assert sent["content"] == {"body": "Hello", "from_number": "07700900111"}
    assert [t["content"] for t in texts] == [f"text {i}" for i in reversed(range(300))]
    assert refused.value.status_code == 400
    assert refused.value.message == [{"error": "BadRequestError", "message": "Template not found"}]
