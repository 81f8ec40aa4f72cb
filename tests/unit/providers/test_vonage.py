"""Vonage SMS API inbound webhooks, signed in the test from Vonage's documented signing scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.message import Part
from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.vonage import Vonage
from tests.unit.providers.arbitrary import ANY_TEXT, bodies, only_webhook_errors, requests

NOW = 1_790_000_000
SECRET = "vonage-signature-secret"
URL = "https://sms.example.gov.uk/webhooks/vonage"
FIELDS = {
    "msisdn": "447700900123",
    "to": "447700900000",
    "messageId": "0A0000000123ABCD1",
    "text": "Yes & thanks = great",
    "type": "text",
    "keyword": "YES",
    "api-key": "abcd1234",
    "message-timestamp": "2026-11-28 09:15:00",
    "timestamp": str(NOW),
    "nonce": "7f3c9a2e-4b1d-4c55-9f0e-1a2b3c4d5e6f",
}


def signature(params: dict[str, str], secret: str = SECRET, method: str = "md5hash") -> str:
    """Vonage's documented scheme: `&name=value` for each parameter sorted by name, with `&`
    and `=` in values replaced by `_`; md5hash appends the secret, the others are HMACs."""
    text = "".join(
        "&" + name + "=" + params[name].replace("&", "_").replace("=", "_")
        for name in sorted(params)
    ).encode()
    if method == "md5hash":
        return hashlib.md5(text + secret.encode()).hexdigest()  # noqa: S324 - Vonage's scheme
    return hmac.new(secret.encode(), text, method).hexdigest()


def signed(
    fields: dict[str, str] | None = None,
    transport: str = "form",
    secret: str = SECRET,
    method: str = "md5hash",
) -> WebhookRequest:
    params = dict(FIELDS if fields is None else fields)
    params["sig"] = signature(params, secret, method)
    return request(params, transport)


def request(params: dict[str, str], transport: str = "form") -> WebhookRequest:
    if transport == "get":
        query = urllib.parse.urlencode(params)
        return WebhookRequest("GET", f"{URL}?{query}", {}, b"", list(params.items()))
    if transport == "json":
        headers = {"content-type": "application/json"}
        return WebhookRequest("POST", URL, headers, json.dumps(params).encode())
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return WebhookRequest("POST", URL, headers, urllib.parse.urlencode(params).encode())


def vonage(*secrets: str, method: str = "md5hash", api_key: str | None = None) -> Vonage:
    return Vonage(secrets or (SECRET,), method, api_key, clock=lambda: NOW + 20)


@pytest.mark.parametrize("transport", ["get", "form", "json"])
@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
async def test_genuine_webhook_verifies_and_parses(transport: str, method: str) -> None:
    request = signed(transport=transport, method=method)
    provider = vonage(method=method, api_key="abcd1234")
    await provider.verify(request)
    [message] = provider.parse(request)
    assert message.provider_message_id == "0A0000000123ABCD1"
    # As Vonage sent them (international, no "+"): accept.py normalises to E.164.
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes & thanks = great"
    assert message.received_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    assert message.part is None


async def test_upper_case_hex_signature_is_accepted() -> None:
    params = dict(FIELDS)
    params["sig"] = signature(params, method="sha256").upper()
    await vonage(method="sha256").verify(request(params))


async def test_either_of_two_secrets_is_accepted_during_rotation() -> None:
    provider = vonage("old-secret", "new-secret")
    await provider.verify(signed(secret="old-secret"))
    await provider.verify(signed(secret="new-secret"))
    with pytest.raises(SignatureInvalid):
        await provider.verify(signed(secret="another"))


@pytest.mark.parametrize(
    ("change", "value"),
    [("text", "No"), ("msisdn", "447700900999"), ("timestamp", str(NOW + 1)), ("nonce", "x")],
)
async def test_any_changed_parameter_breaks_the_signature(change: str, value: str) -> None:
    params = dict(FIELDS)
    params["sig"] = signature(params)
    params[change] = value
    with pytest.raises(SignatureInvalid, match="sig"):
        await vonage().verify(request(params))


async def test_an_added_parameter_breaks_the_signature() -> None:
    params = dict(FIELDS)
    params["sig"] = signature(params)
    params["concat"] = "true"
    with pytest.raises(SignatureInvalid):
        await vonage().verify(request(params))


async def test_the_method_must_be_the_configured_one() -> None:
    with pytest.raises(SignatureInvalid):
        await vonage(method="sha256").verify(signed(method="sha512"))


@pytest.mark.parametrize(
    ("missing", "error"),
    [("sig", SignatureMissing), ("timestamp", SignatureMissing)],
)
async def test_unsigned_webhook_is_refused(missing: str, error: type[Exception]) -> None:
    params = {k: v for k, v in FIELDS.items() if k != missing}
    if missing != "sig":
        params["sig"] = signature(params)
    with pytest.raises(error) as caught:
        await vonage().verify(request(params))
    assert caught.value.field == missing  # type: ignore[attr-defined]


@pytest.mark.parametrize("sig", ["zz", "abc", "0" * 32, " "])
async def test_malformed_or_wrong_sig_is_refused(sig: str) -> None:
    params = {**FIELDS, "sig": sig}
    with pytest.raises((SignatureInvalid, SignatureMissing)):
        await vonage().verify(request(params))


@pytest.mark.parametrize("offset", [301, -25 * 3600 - 1, -30 * 86_400])
async def test_timestamp_outside_the_retry_span_is_refused(offset: int) -> None:
    fields = {**FIELDS, "timestamp": str(NOW + 20 + offset)}
    with pytest.raises(SignatureInvalid) as caught:
        await vonage().verify(signed(fields))
    assert caught.value.field == "timestamp"


@pytest.mark.parametrize("offset", [-301, -3600, -24 * 3600])
async def test_a_resend_keeping_its_first_timestamp_is_accepted(offset: int) -> None:
    await vonage().verify(signed({**FIELDS, "timestamp": str(NOW + 20 + offset)}))


@pytest.mark.parametrize("stamp", ["1e9", "-5", "", "12.5", "١٢٣"])
async def test_timestamp_that_is_not_unix_seconds_is_refused(stamp: str) -> None:
    with pytest.raises(SignatureInvalid):
        await vonage().verify(signed({**FIELDS, "timestamp": stamp}))


async def test_other_api_key_is_refused() -> None:
    with pytest.raises(SignatureInvalid, match="api-key"):
        await vonage(api_key="other").verify(signed())


async def test_multipart_part_carries_its_place() -> None:
    fields = {
        **FIELDS,
        "messageId": "0A0000000123ABCD2",
        "concat": "true",
        "concat-ref": "108",
        "concat-total": "3",
        "concat-part": "2",
    }
    request = signed(fields)
    await vonage().verify(request)
    [message] = vonage().parse(request)
    assert message.part == Part(reference="108", total=3, number=2)
    assert message.provider_message_id == "0A0000000123ABCD2"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"concat-part": "4"}, "concat-part"),
        ({"concat-part": "0"}, "concat-part"),
        ({"concat-part": "two"}, "concat-part"),
        ({"concat-total": "9999"}, "concat-total"),
        ({"concat-ref": ""}, "concat-ref"),
        ({"concat-ref": "r" * 101}, "concat-ref"),
    ],
)
def test_bad_concat_fields_are_named(changes: dict[str, str], field: str) -> None:
    fields = {
        **FIELDS,
        "concat": "true",
        "concat-ref": "108",
        "concat-total": "3",
        "concat-part": "2",
        **changes,
    }
    with pytest.raises(PayloadInvalid) as caught:
        vonage().parse(request(fields))
    assert caught.value.field == field


def test_a_concatenated_message_of_one_part_is_just_a_message() -> None:
    fields = {
        **FIELDS,
        "concat": "true",
        "concat-ref": "1",
        "concat-total": "1",
        "concat-part": "1",
    }
    [message] = vonage().parse(request(fields))
    assert message.part is None


@pytest.mark.parametrize("field", ["messageId", "msisdn", "to"])
def test_missing_field_is_named(field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        vonage().parse(request({k: v for k, v in FIELDS.items() if k != field}))
    assert caught.value.field == field


@pytest.mark.parametrize(
    "stamp", ["2026-11-28T09:15:00Z", "28/11/2026 09:15", "2026-13-01 00:00:00"]
)
def test_bad_message_timestamp_is_named(stamp: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        vonage().parse(request({**FIELDS, "message-timestamp": stamp}))
    assert caught.value.field == "message-timestamp"


@pytest.mark.parametrize("sender", ["GOVUK", "60123", "447700900123"])
def test_alphanumeric_senders_and_short_codes_are_kept(sender: str) -> None:
    [message] = vonage().parse(request({**FIELDS, "msisdn": sender}))
    assert message.sender == sender


def test_binary_message_is_kept_with_a_visible_marker() -> None:
    fields = {k: v for k, v in FIELDS.items() if k != "text"}
    [message] = vonage().parse(request({**fields, "type": "binary", "data": "0102ff"}))
    assert message.text == "[binary SMS] 0102ff"


def test_json_value_that_is_not_a_string_is_named() -> None:
    body = json.dumps({**FIELDS, "concat": True}).encode()
    bad = WebhookRequest("POST", URL, {"content-type": "application/json"}, body)
    with pytest.raises(PayloadInvalid) as caught:
        vonage().parse(bad)
    assert caught.value.field == "concat"


def test_repeated_parameter_is_refused() -> None:
    body = urllib.parse.urlencode([*FIELDS.items(), ("text", "other")]).encode()
    bad = WebhookRequest("POST", URL, {"content-type": "application/x-www-form-urlencoded"}, body)
    with pytest.raises(PayloadInvalid) as caught:
        vonage().parse(bad)
    assert caught.value.field == "text"


async def test_lone_surrogate_in_json_is_malformed() -> None:
    body = json.dumps({**FIELDS, "text": "\ud800", "sig": "00"}).encode()
    bad = WebhookRequest("POST", URL, {"content-type": "application/json"}, body)
    with pytest.raises(MalformedBody):
        await vonage().verify(bad)


async def test_xml_body_is_unsupported() -> None:
    bad = WebhookRequest("POST", URL, {"content-type": "text/xml"}, b"<x/>")
    with pytest.raises(UnsupportedMediaType):
        await vonage().verify(bad)


@settings(max_examples=300, deadline=None)
@given(
    requests(
        {"content-type": st.just("application/json")},
        bodies(template=FIELDS, form=list(FIELDS.items())),
        methods=("GET", "POST"),
    )
)
def test_any_request_raises_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(vonage(), request)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*FIELDS, "concat", "concat-ref", "sig"]) | ANY_TEXT, ANY_TEXT),
    st.sampled_from(["get", "form", "json"]),
)
def test_correctly_signed_arbitrary_parameters_raise_only_webhook_errors(
    fields: dict[str, str], transport: str
) -> None:
    # Signed, so the arbitrary values reach the freshness, account and parsing checks.
    fields = {**fields, "timestamp": str(NOW)}
    try:
        request = signed(fields, transport)
    except UnicodeEncodeError:
        request = WebhookRequest("POST", URL, {"content-type": "application/json"}, b"{}")
    only_webhook_errors(vonage(api_key="abcd1234"), request)


def test_helpers_build_what_vonage_documents() -> None:
    # The scheme's worked example: sorted `&name=value`, then the secret, MD5, hex.
    params: dict[str, Any] = {"b": "2", "a": "1=x&y"}
    expected = hashlib.md5(b"&a=1_x_y&b=2" + b"s").hexdigest()  # noqa: S324
    assert signature(params, "s") == expected


def test_signature_secret_enables_both_vonage_webhooks_with_a_known_method() -> None:
    from pydantic import SecretStr, ValidationError

    from inbound.config import Settings
    from inbound.providers.registry import enabled_providers

    with pytest.raises(ValidationError, match="vonage_signature_method"):
        Settings(vonage_signature_method="sha384")
    settings = Settings(
        vonage_signature_secret=SecretStr("a,b"), vonage_signature_method=" SHA256 "
    )
    assert settings.vonage_signature_method == "sha256"
    assert {"vonage", "vonage-messages"} <= set(enabled_providers(settings))
