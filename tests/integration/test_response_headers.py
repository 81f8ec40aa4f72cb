"""What every answer tells a caller on the internet, over real HTTP: no software versions (the
`Server` header says inbound), no names of settings, and Strict-Transport-Security wherever it is
wanted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest
from multidict import CIMultiDictProxy

from inbound.config import Settings
from tests.conftest import GENERIC_SECRET
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_pipeline import generic

# Headers don't depend on the database: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# (method, path) across the listener: webhooks, ops, staff pages, static files, API, router.
EVERY_KIND = [
    ("POST", "/webhooks/generic"),  # signed: 202
    ("GET", "/webhooks/generic"),  # 405
    ("POST", "/webhooks/plivo"),  # a provider that is off: 404
    ("POST", "/webhooks/nosuch"),  # 404
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/review/sign-in"),
    ("GET", "/review/static/review.css"),
    ("GET", "/api/queue"),  # 401 without a token
    ("GET", "/no/such/page"),
]
Answers = dict[tuple[str, str], tuple[int, CIMultiDictProxy[str], str]]


async def answers(stack: Stack) -> Answers:
    """Every kind of answer: status, headers and body."""
    found = {}
    for method, path in EVERY_KIND:
        body, headers = b"", {}
        if (method, path) == ("POST", "/webhooks/generic"):
            body = json.dumps(generic("yes")).encode()
            digest = hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-Inbound-Signature": f"sha256={digest}",
            }
        async with stack.http.request(
            method, stack.base_url + path, data=body, headers=headers
        ) as response:
            found[(method, path)] = (response.status, response.headers, await response.text())
    return found


async def answers_with(settings: Settings, **update: object) -> Answers:
    async with running_stack(settings.model_copy(update=update)) as stack:
        return await answers(stack)


async def test_every_answer_names_the_server_inbound_without_versions(settings: Settings) -> None:
    found = await answers_with(settings)
    statuses = {key: status for key, (status, _, _) in found.items()}
    assert statuses[("POST", "/webhooks/generic")] == 202
    assert statuses[("GET", "/review/sign-in")] == 200
    assert statuses[("GET", "/review/static/review.css")] == 200
    assert statuses[("GET", "/api/queue")] == 401
    servers = {key: tuple(headers.getall("Server", [])) for key, (_, headers, _) in found.items()}
    assert servers == dict.fromkeys(EVERY_KIND, ("inbound",))
    for _, _, body in found.values():
        assert "aiohttp" not in body
        assert "Python/" not in body


async def test_a_malformed_request_is_answered_without_the_server_software(
    settings: Settings,
) -> None:
    """aiohttp answers what it can't parse itself, before any application runs."""
    async with running_stack(settings) as stack:
        host, port = stack.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        head = (await asyncio.wait_for(reader.read(4096), 10)).decode("latin-1")
        writer.close()
    assert head.startswith("HTTP/1.0 400")
    assert "\r\nServer: inbound\r\n" in head
    assert "aiohttp" not in head
    assert "Python/" not in head


async def test_a_disabled_provider_is_a_plain_404_naming_no_setting(settings: Settings) -> None:
    found = await answers_with(settings)
    disabled = found[("POST", "/webhooks/plivo")]
    unknown = found[("POST", "/webhooks/nosuch")]
    assert disabled[0] == unknown[0] == 404
    assert json.loads(disabled[2]) == json.loads(unknown[2])
    assert json.loads(disabled[2])["error"]["message"] == "no such webhook"
    for _, _, body in found.values():
        assert "INBOUND_" not in body


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"public_url": "https://sms.example.gov.uk"}, True),  # on by default over HTTPS
        ({"public_url": "http://localhost:8080"}, False),
        ({}, False),
        ({"public_url": "https://sms.example.gov.uk", "hsts": False}, False),
        ({"hsts": True}, True),
    ],
)
async def test_hsts_is_on_every_answer_where_wanted(
    settings: Settings, update: dict[str, object], expected: bool
) -> None:
    found = await answers_with(settings, **update)
    sent = {key: headers.get("Strict-Transport-Security") for key, (_, headers, _) in found.items()}
    assert sent == dict.fromkeys(EVERY_KIND, "max-age=31536000" if expected else None)
