"""Arbitrary requests to every webhook of a running server: never a 5xx, always a JSON refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr

from inbound.config import Settings
from inbound.providers.registry import specs
from tests.conftest import GENERIC_SECRET
from tests.integration.conftest import Stack, running_stack

NOTIFY_TOKEN = "fuzz-notify-token"
# Every webhook: the providers', and Notify's delivery receipts, which take untrusted input too.
ENDPOINTS = sorted({*specs(), "notify-status"})
HEADER_NAMES = [
    "X-Twilio-Signature",
    "X-Inbound-Signature",
    "Authorization",
    "X-Plivo-Signature-V2",
    "X-Plivo-Signature-V2-Nonce",
    "telnyx-signature-ed25519",
    "telnyx-timestamp",
    "x-sinch-webhook-signature",
    "x-sinch-webhook-signature-nonce",
    "x-sinch-webhook-signature-timestamp",
    "MessageBird-Signature-JWT",
    "x-amz-sns-message-type",
    "Content-Encoding",
]
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain; charset=UTF-8",
    "text/xml",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "",
]
EXPECTED = {200, 202, 204, 400, 401, 403, 404, 405, 413, 415, 422, 503}
# Header values a real HTTP client can send: printable, no line breaks.
header_values = st.text(alphabet=string.printable.strip() + " ", max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
generic_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=40),
        "from": st.text(max_size=40),
        "to": st.sampled_from(["+447700900000", "447700900000", ""]) | st.text(max_size=20),
        "text": st.text(max_size=200),
        "received_at": st.text(max_size=30) | st.just("2026-11-28T10:00:00Z"),
        "part": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode()),
    generic_like.map(lambda value: json.dumps(value, ensure_ascii=False).encode()),
)


@pytest.fixture
async def every_provider(settings: Settings) -> AsyncIterator[Stack]:
    """A running server with every provider enabled, so each parser faces the fuzzer."""
    public_key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    secret = SecretStr("fuzz-secret")
    credentials = SecretStr("fuzz:credentials")
    enabled = settings.model_copy(
        update={
            "vonage_signature_secret": secret,
            "sns_topic_arns": ["arn:aws:sns:eu-west-2:123456789012:inbound"],
            "plivo_auth_token": secret,
            "telnyx_public_key": base64.b64encode(public_key).decode(),
            "sinch_webhook_secret": secret,
            "messagebird_signing_key": secret,
            "infobip_basic_auth": credentials,
            "bandwidth_basic_auth": credentials,
            "mmg_basic_auth": credentials,
            "firetext_basic_auth": credentials,
            "notify_inbound_tokens": SecretStr(NOTIFY_TOKEN),
        }
    )
    async with running_stack(enabled) as stack:
        document = (await stack.request("GET", "/openapi.json", b"", {})).json()
        enabled_paths = {path for path in document["paths"] if path.startswith("/webhooks/")}
        assert enabled_paths == {f"/webhooks/{name}" for name in ENDPOINTS}
        yield stack


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@hypothesis_settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    provider=st.sampled_from(ENDPOINTS),
    method=st.sampled_from(["POST", "GET"]),
    content_type=st.sampled_from(CONTENT_TYPES),
    body=bodies,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4),
    sign_generic=st.booleans(),
    notify_token=st.booleans(),
)
async def test_any_request_gets_a_clear_answer_never_a_server_error(
    every_provider: Stack,
    provider: str,
    method: str,
    content_type: str,
    body: bytes,
    headers: dict[str, str],
    sign_generic: bool,
    notify_token: bool,
) -> None:
    sent = dict(headers)
    if content_type:
        sent["Content-Type"] = content_type
    if sign_generic and provider == "generic":
        # A valid signature takes the request past authentication into the parser.
        digest = hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
        sent["X-Inbound-Signature"] = f"sha256={digest}"
    if notify_token and provider.startswith("notify"):
        sent["Authorization"] = f"Bearer {NOTIFY_TOKEN}"  # past the token, into the parser
    answer = await every_provider.request(method, f"/webhooks/{provider}", body, sent)
    # 503 is a deliberate "send it again" (Vonage Messages' unsigned callbacks); a crash is 500.
    assert answer.status in EXPECTED, answer.text
    if answer.status >= 400:
        assert answer.json()["error"]["code"] != "internal"
