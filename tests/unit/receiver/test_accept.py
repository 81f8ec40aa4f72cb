"""Turning a provider's parsed message into the canonical one, and accepting a single-use nonce
once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from inbound.broker.publisher import PublishFailed
from inbound.message import InboundMessage
from inbound.providers.base import ParsedMessage, PayloadInvalid, WebhookReply, WebhookRequest
from inbound.receiver.accept import Replayed, accept_webhook, to_message

REGIONS = {"+12015550100": "US", "+447700900000": "GB"}


def parsed(sender: str, recipient: str, received_at: datetime | None = None) -> ParsedMessage:
    return ParsedMessage("id-1", sender, recipient, "hello", received_at)


@pytest.mark.parametrize(
    ("sender", "recipient", "expected_sender"),
    [
        ("(201) 555-0123", "+12015550100", "+12015550123"),  # US service: US national format
        ("07700 900123", "+447700900000", "+447700900123"),  # GB service: GB national format
        ("07700 900123", "447700900000", "+447700900123"),  # recipient without +
        ("NHSAPP", "+447700900000", "NHSAPP"),
        ("123", "+447700900000", "123"),  # too short to be a number, kept as sent
    ],
)
def test_sender_is_normalised_in_the_owning_service_region(
    sender: str, recipient: str, expected_sender: str
) -> None:
    message = to_message("generic", parsed(sender, recipient), REGIONS.get, "GB")
    assert message.sender == expected_sender
    assert message.recipient in REGIONS


def test_missing_received_time_is_now() -> None:
    before = datetime.now(UTC)
    message = to_message("generic", parsed("+447700900123", "+447700900000"), REGIONS.get, "GB")
    assert before <= message.received_at <= datetime.now(UTC)


def test_overlong_sender_is_a_422_naming_the_field() -> None:
    with pytest.raises(PayloadInvalid) as caught:
        to_message("generic", parsed("x" * 40, "+447700900000"), REGIONS.get, "GB")
    assert caught.value.field == "from"


# -- single-use nonces: the use case's part (the database's is in tests/integration) ----------


class OneUse:
    """An in-memory Nonces: each (provider, nonce) claimed once until released."""

    def __init__(self) -> None:
        self.claimed: set[tuple[str, str]] = set()
        self.released: list[tuple[str, str]] = []

    async def claim(self, provider: str, nonce: str) -> bool:
        if (provider, nonce) in self.claimed:
            return False
        self.claimed.add((provider, nonce))
        return True

    async def release(self, provider: str, nonce: str) -> None:
        self.claimed.discard((provider, nonce))
        self.released.append((provider, nonce))


class Kept:
    """A Durable that keeps what it is given, or fails every publish."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[InboundMessage] = []

    async def publish(self, message: InboundMessage) -> None:
        if self.fail:
            raise PublishFailed("broker and spool both down")
        self.published.append(message)


class NonceSigned:
    """A provider whose requests' signature covers only a nonce header."""

    name = "nonce-signed"
    methods = frozenset({"POST"})

    async def verify(self, request: WebhookRequest) -> None:
        return None

    def single_use_nonce(self, request: WebhookRequest) -> str | None:
        return request.header("nonce")

    def parse(self, request: WebhookRequest) -> list[ParsedMessage]:
        if request.body == b"bad":
            raise PayloadInvalid("bad body")
        return [ParsedMessage(request.body.decode(), "+447700900123", "+447700900000", "hi")]

    def accepted(self, messages: Sequence[InboundMessage]) -> WebhookReply:
        return WebhookReply(200)


def nonce_request(body: bytes, nonce: str | None = "n-1") -> WebhookRequest:
    headers = {} if nonce is None else {"nonce": nonce}
    return WebhookRequest("POST", "https://sms.example.gov.uk/webhooks/x", headers, body)


async def accept(
    request: WebhookRequest, nonces: OneUse, publisher: Kept | None = None
) -> list[InboundMessage]:
    _, messages = await accept_webhook(
        NonceSigned(), request, publisher or Kept(), REGIONS.get, "GB", nonces
    )
    return messages


async def test_a_single_use_nonce_is_accepted_once_and_its_replay_refused() -> None:
    nonces, publisher = OneUse(), Kept()
    await accept(nonce_request(b"m-1"), nonces, publisher)
    with pytest.raises(Replayed) as caught:
        await accept(nonce_request(b"m-2 with other text"), nonces, publisher)
    assert (caught.value.status, caught.value.code) == (403, "signature_replayed")
    assert [m.provider_message_id for m in publisher.published] == ["m-1"]
    await accept(nonce_request(b"m-3", nonce="n-2"), nonces, publisher)


async def test_a_request_without_a_single_use_nonce_never_touches_the_store() -> None:
    nonces = OneUse()
    for _ in range(2):
        await accept(nonce_request(b"m-1", nonce=None), nonces)
    assert nonces.claimed == set()


async def test_a_malformed_request_does_not_use_up_its_nonce() -> None:
    nonces = OneUse()
    with pytest.raises(PayloadInvalid):
        await accept(nonce_request(b"bad"), nonces)
    await accept(nonce_request(b"m-1"), nonces)


async def test_a_message_not_made_durable_gives_its_nonce_back_for_the_retry() -> None:
    nonces = OneUse()
    with pytest.raises(PublishFailed):
        await accept(nonce_request(b"m-1"), nonces, Kept(fail=True))
    assert nonces.released == [("nonce-signed", "n-1")]
    await accept(nonce_request(b"m-1"), nonces)
