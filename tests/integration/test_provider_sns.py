"""SNS-delivered two-way SMS against the running stack, both databases.

AWS can't be reached here, so the one stand-in is the fetcher: it serves a signing certificate
the test generates. Everything else (receiver, signature checks, RabbitMQ, worker, database) is
real. The real aiohttp fetcher is tested against a local HTTP server at the end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from inbound.config import Settings
from inbound.providers import sns
from inbound.providers.sns_http import AiohttpFetcher, FetchFailed
from tests.integration.conftest import Answer, Stack, start_stack
from tests.integration.provider_support import nothing_stored
from tests.support.sns_signing import (
    CERT_URL,
    SUBSCRIBE_URL,
    TOPIC,
    FakeAws,
    SigningKey,
    confirmation,
    notification,
    sign,
    sms,
)

SIGNER = SigningKey.generate()


@pytest.fixture
def aws() -> FakeAws:
    """The stand-in for AWS: serves the test's signing certificate, records every fetch."""
    return FakeAws({CERT_URL: SIGNER.pem})


@pytest.fixture
async def stack(
    settings: Settings, aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    """The stack with SNS enabled for TOPIC, fetching through the stand-in."""
    monkeypatch.setattr(sns, "default_fetcher", lambda: aws)
    update = {"sns_topic_arns": [TOPIC, TOPIC + "-second"]}
    async for started in start_stack(settings.model_copy(update=update)):
        yield started


async def post(stack: Stack, envelope: dict[str, Any]) -> Answer:
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": str(envelope.get("Type")),
        "x-amz-sns-topic-arn": str(envelope.get("TopicArn")),
    }
    return await stack.request("POST", "/webhooks/sns", json.dumps(envelope).encode(), headers)


@pytest.mark.parametrize("version", ["1", "2"])
async def test_signed_notification_is_stored_once_with_normalised_fields(
    stack: Stack, aws: FakeAws, version: str
) -> None:
    envelope = sign(notification(sms("Yes please", "in-" + version)), SIGNER, version)
    for _ in range(2):  # SNS retries keep everything, the signature included
        assert (await post(stack, envelope)).status == 200
    stored = await stack.processed("in-" + version)
    assert (stored.provider, stored.sender, stored.recipient) == (
        "sns",
        "+447700900123",
        "+447700900000",
    )
    assert stored.received_at.isoformat() == "2026-11-28T09:15:00.123000+00:00"
    assert stored.text == "Yes please"
    assert aws.fetched == [CERT_URL]  # cached after the first
    await nothing_stored(stack, expected=1)


async def test_second_configured_topic_is_accepted(stack: Stack) -> None:
    envelope = sign(notification(sms("yes", "in-second"), TopicArn=TOPIC + "-second"), SIGNER)
    assert (await post(stack, envelope)).status == 200
    await stack.processed("in-second")


async def test_a_retry_hours_later_is_still_accepted(stack: Stack) -> None:
    envelope = sign(
        notification(sms("yes", "in-old"), Timestamp="2020-01-01T00:00:00.000Z"), SIGNER
    )
    assert (await post(stack, envelope)).status == 200
    await stack.processed("in-old")


@pytest.mark.parametrize(
    ("tamper", "status", "field"),
    [
        ("tampered-message", 403, "Signature"),
        ("other-key", 403, "Signature"),
        ("unknown-topic", 403, "TopicArn"),
        ("certificate-off-aws", 403, "SigningCertURL"),
        ("missing-signature", 403, "Signature"),
    ],
)
async def test_not_genuine_notification_is_refused_and_nothing_stored(
    stack: Stack, aws: FakeAws, tamper: str, status: int, field: str
) -> None:
    envelope = sign(notification(sms("yes")), SIGNER)
    if tamper == "tampered-message":
        envelope["Message"] = sms("cancel")
    elif tamper == "other-key":
        envelope = sign(notification(sms("yes")), SigningKey.generate())
    elif tamper == "unknown-topic":
        envelope = sign(notification(sms("yes"), TopicArn=TOPIC + "-unknown"), SIGNER)
    elif tamper == "certificate-off-aws":
        url = "https://sns.eu-west-2.amazonaws.com.evil.example/cert.pem"
        aws.certificates[url] = SIGNER.pem
        envelope = sign(notification(sms("yes"), SigningCertURL=url), SIGNER)
    else:
        del envelope["Signature"]
    answer = await post(stack, envelope)
    assert answer.status == status
    assert answer.json()["error"]["field"] == field
    assert all(url == CERT_URL for url in aws.fetched)
    await nothing_stored(stack)


async def test_unfetchable_certificate_is_503_so_sns_retries(stack: Stack, aws: FakeAws) -> None:
    aws.failing = True
    answer = await post(stack, sign(notification(sms("yes")), SIGNER))
    assert answer.status == 503
    await nothing_stored(stack)


async def test_subscription_to_a_configured_topic_is_confirmed(stack: Stack, aws: FakeAws) -> None:
    answer = await post(stack, sign(confirmation(), SIGNER))
    assert answer.status == 200
    assert aws.fetched == [CERT_URL, SUBSCRIBE_URL]
    await nothing_stored(stack)


async def test_subscription_to_another_topic_is_not_confirmed(stack: Stack, aws: FakeAws) -> None:
    answer = await post(stack, sign(confirmation(TopicArn=TOPIC + "-unknown"), SIGNER))
    assert answer.status == 403
    assert aws.fetched == []
    await nothing_stored(stack)


# --- the real fetcher, against a local server ---


@pytest.fixture
async def local_server() -> AsyncIterator[str]:
    """A local HTTP server: a certificate, a redirect, an error and an oversized answer."""

    async def certificate(_: web.Request) -> web.Response:
        return web.Response(body=SIGNER.pem)

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("/cert.pem")

    async def error(_: web.Request) -> web.Response:
        return web.Response(status=500)

    async def huge(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * 100_000)

    app = web.Application()
    app.router.add_get("/cert.pem", certificate)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/error", error)
    app.router.add_get("/huge", huge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_real_fetcher_returns_the_body_of_a_200(local_server: str) -> None:
    assert await AiohttpFetcher()(local_server + "/cert.pem") == SIGNER.pem


@pytest.mark.parametrize("path", ["/redirect", "/error", "/huge", "/missing"])
async def test_real_fetcher_refuses_redirects_errors_and_oversized_answers(
    local_server: str, path: str
) -> None:
    with pytest.raises(FetchFailed):
        await AiohttpFetcher()(local_server + path)


async def test_real_fetcher_reports_an_unreachable_host() -> None:
    with pytest.raises(FetchFailed):
        await AiohttpFetcher(timeout=2)("http://127.0.0.1:9/cert.pem")
