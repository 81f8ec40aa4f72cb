"""Arbitrary requests to every webhook of a running server: never a 5xx, always a JSON refusal."""

from __future__ import annotations

import hashlib
import hmac
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.providers.registry import specs
from tests.conftest import GENERIC_SECRET
from tests.integration.conftest import Stack

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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    provider=st.sampled_from(sorted(specs())),
    method=st.sampled_from(["POST", "GET"]),
    content_type=st.sampled_from(CONTENT_TYPES),
    body=bodies,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4),
    sign_generic=st.booleans(),
)
async def test_any_request_gets_a_clear_answer_never_a_server_error(
    stack: Stack,
    provider: str,
    method: str,
    content_type: str,
    body: bytes,
    headers: dict[str, str],
    sign_generic: bool,
) -> None:
    sent = dict(headers)
    if content_type:
        sent["Content-Type"] = content_type
    if sign_generic and provider == "generic":
        # A valid signature takes the request past authentication into the parser.
        digest = hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
        sent["X-Inbound-Signature"] = f"sha256={digest}"
    answer = await stack.request(method, f"/webhooks/{provider}", body, sent)
    assert answer.status < 500, answer.text
    if answer.status >= 400:
        assert "error" in answer.json()
