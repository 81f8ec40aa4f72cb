"""Plivo incoming-message webhooks: V3 (which covers the message) decides whenever Plivo sends it;
V2 alone (URL and nonce only) only where allowed. Signatures are made in the test from Plivo's
documented schemes, and checked against values Plivo's own Python SDK computed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.plivo import Plivo, sign_v3
from tests.unit.providers.arbitrary import bodies, only_webhook_errors, requests

TOKEN = "plivo-auth-token"
URL = "https://sms.example.gov.uk/webhooks/plivo"
NONCE = "05429567804466091622"
NONCE_V3 = "73960583171869470355"
FORM = "application/x-www-form-urlencoded"
FIELDS = [
    ("From", "447700900123"),
    ("To", "447700900000"),
    ("Text", "Yes & thanks = great"),
    ("Type", "sms"),
    ("MessageUUID", "2a3d6a5c-1c2d-11ef-9c7c-0242ac110003"),
    ("Units", "1"),
    ("TotalRate", "0.00000"),
    ("TotalAmount", "0.00000"),
    ("MessageIntent", ""),
    ("PowerpackUUID", ""),
]


def signature(url: str, nonce: str = NONCE, token: str = TOKEN) -> str:
    """Plivo's V2: Base64(HMAC-SHA256(auth token, URL without its query + nonce))."""
    base = url.split("?", 1)[0]
    digest = hmac.new(token.encode(), (base + nonce).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_v3(
    url: str, fields: list[tuple[str, str]], method: str, nonce: str = NONCE_V3, token: str = TOKEN
) -> str:
    """Plivo's V3 as its signature-validation page describes it: the URL with its query sorted,
    for a POST `?` then the parameters sorted by name as name+value (after a `.` when there is
    a query), then `.` and the nonce; Base64(HMAC-SHA256(auth token, that))."""
    base, _, query = url.partition("?")
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    query_text = "&".join(f"{k}={v}" for k, v in pairs)
    text = base
    if method == "POST" and fields:
        text += "?" + query_text + ("." if query_text else "")
        text += "".join(k + v for k, v in sorted(fields))
    elif query_text:
        text += "?" + query_text
    text += "." + nonce
    return base64.b64encode(
        hmac.new(token.encode(), text.encode(), hashlib.sha256).digest()
    ).decode()


def signed(
    fields: list[tuple[str, str]] = FIELDS,
    token: str = TOKEN,
    url: str = URL,
    method: str = "POST",
    header: str = "x-plivo-signature-v2",
    v3: str | None = "x-plivo-signature-v3",
) -> WebhookRequest:
    """A request as Plivo sends it: V2 headers, and V3 headers unless `v3` is None."""
    headers = {header: signature(url, token=token), "x-plivo-signature-v2-nonce": NONCE}
    if method == "GET":
        full = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(fields)}"
        if v3 is not None:
            headers[v3] = signature_v3(full, [], "GET", token=token)
            headers["x-plivo-signature-v3-nonce"] = NONCE_V3
        return WebhookRequest("GET", full, headers, b"", list(fields))
    headers["content-type"] = FORM
    if v3 is not None:
        headers[v3] = signature_v3(url, fields, "POST", token=token)
        headers["x-plivo-signature-v3-nonce"] = NONCE_V3
    return WebhookRequest("POST", url, headers, urllib.parse.urlencode(fields).encode())


def v2_only(**changes: object) -> WebhookRequest:
    return signed(v3=None, **changes)  # type: ignore[arg-type]


def plivo(*tokens: str, allow_v2_only: bool = False) -> Plivo:
    return Plivo(tokens or (TOKEN,), allow_v2_only)


def with_body(request: WebhookRequest, fields: list[tuple[str, str]]) -> WebhookRequest:
    """The same headers over another body: what an attacker holding one capture can send."""
    body = urllib.parse.urlencode(fields).encode()
    return WebhookRequest(request.method, request.url, request.headers, body, request.query)


# -- V3 -----------------------------------------------------------------------------------------

# Values computed by Plivo's Python SDK 4.63.0 (plivo.utils.signature_v3: construct_post_url /
# construct_get_url, get_signature_v3) with the token "plivo-auth-token" and NONCE_V3.
SDK_VECTORS = [
    (
        "POST",
        URL,
        [
            ("From", "447700900123"),
            ("To", "447700900000"),
            ("Text", "Yes & thanks = great"),
            ("Type", "sms"),
            ("MessageUUID", "2a3d6a5c-1c2d-11ef-9c7c-0242ac110003"),
            ("MessageIntent", ""),
        ],
        "9Yx9yyxphKGujL/qzlEmQtewc23++sl4nxXaA6MJzZ8=",
    ),
    (
        "POST",
        URL + "?service=appointments&a=b+c",
        [("From", "447700900123"), ("To", "447700900000"), ("Text", "hi"), ("MessageUUID", "u1")],
        "W786C7tlnuzXPcz83DBqV2gtO40Opfn+0wemdYnk9yU=",
    ),
    (
        "GET",
        URL + "?To=447700900000&From=447700900123&Text=yes+please&MessageUUID=u2",
        [],
        "NczosyuInG+WKisX3O2yah8RV0Tbc8QruAbC2Noe9MU=",
    ),
    (
        "POST",
        "https://sms.example.gov.uk:8443/webhooks/plivo?x=1",
        [],
        "w7V4hwltnjg3TB1ohTwvg07chrdvbEgp92d8U8ng+EU=",
    ),
]


@pytest.mark.parametrize(("method", "url", "fields", "expected"), SDK_VECTORS)
async def test_v3_matches_what_plivos_sdk_computes(
    method: str, url: str, fields: list[tuple[str, str]], expected: str
) -> None:
    assert sign_v3(TOKEN, method, url, fields, NONCE_V3) == expected
    assert signature_v3(url, fields, method) == expected  # the test's own signer agrees
    headers = {"x-plivo-signature-v3": expected, "x-plivo-signature-v3-nonce": NONCE_V3}
    body = b""
    if fields:
        headers["content-type"] = FORM
        body = urllib.parse.urlencode(fields).encode()
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)
    await plivo().verify(WebhookRequest(method, url, headers, body, query))


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_genuine_webhook_verifies_and_parses(method: str) -> None:
    request = signed(method=method)
    await plivo().verify(request)
    [message] = plivo().parse(request)
    assert message.provider_message_id == "2a3d6a5c-1c2d-11ef-9c7c-0242ac110003"
    assert (message.sender, message.recipient) == ("447700900123", "447700900000")
    assert message.text == "Yes & thanks = great"


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("text changed", lambda f: [(k, "STOP" if k == "Text" else v) for k, v in f]),
        ("sender changed", lambda f: [(k, "447700900999" if k == "From" else v) for k, v in f]),
        ("id changed", lambda f: [(k, "new-id" if k == "MessageUUID" else v) for k, v in f]),
        ("field added", lambda f: [*f, ("Body", "extra")]),
        ("field removed", lambda f: [(k, v) for k, v in f if k != "Units"]),
    ],
)
async def test_a_changed_message_under_the_original_v2_and_v3_headers_is_refused(
    name: str, change: object
) -> None:
    """The audit's finding: V2 signs only the URL and nonce, so this passed before V3 was
    checked."""
    original = signed()
    await plivo(allow_v2_only=True).verify(original)
    forged = with_body(original, change(FIELDS))  # type: ignore[operator]
    for provider in (plivo(), plivo(allow_v2_only=True)):
        with pytest.raises(SignatureInvalid) as caught:
            await provider.verify(forged)
        assert caught.value.field == "x-plivo-signature-v3"


@pytest.mark.parametrize(
    ("what", "tampered"),
    [
        ("path", lambda r: WebhookRequest("POST", URL + "-other", r.headers, r.body)),
        ("query", lambda r: WebhookRequest("POST", URL + "?service=other", r.headers, r.body)),
        (
            "nonce",
            lambda r: WebhookRequest(
                "POST", URL, {**r.headers, "x-plivo-signature-v3-nonce": "1" + NONCE_V3}, r.body
            ),
        ),
        ("method", lambda r: WebhookRequest("GET", URL, r.headers, r.body)),
    ],
)
async def test_v3_covers_path_query_nonce_and_method(what: str, tampered: object) -> None:
    with pytest.raises(SignatureInvalid):
        await plivo().verify(tampered(signed()))  # type: ignore[operator]


async def test_v3_covers_get_parameters() -> None:
    request = signed(method="GET")
    changed = request.url.replace("Text=Yes", "Text=No")
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(changed).query)
    with pytest.raises(SignatureInvalid):
        await plivo().verify(WebhookRequest("GET", changed, request.headers, b"", query))


async def test_a_configured_query_string_is_signed_by_v3() -> None:
    await plivo().verify(signed(url=URL + "?service=appointments"))


async def test_v3_decides_when_present_a_wrong_v3_is_refused_even_with_a_good_v2() -> None:
    request = signed()
    wrong = signature_v3(URL, FIELDS, "POST", token="another-token")
    headers = {**request.headers, "x-plivo-signature-v3": wrong}
    with pytest.raises(SignatureInvalid):
        await plivo(allow_v2_only=True).verify(WebhookRequest("POST", URL, headers, request.body))


async def test_v3_may_carry_several_signatures_comma_separated() -> None:
    request = signed()
    other = signature_v3(URL, FIELDS, "POST", token="another-token")
    ours = request.headers["x-plivo-signature-v3"]
    for value in (f"{other},{ours}", f"{ours}, {other}", f"not base64!,{ours}"):
        headers = {**request.headers, "x-plivo-signature-v3": value}
        await plivo().verify(WebhookRequest("POST", URL, headers, request.body))


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "\udcff", ",", ""])
async def test_a_malformed_v3_is_refused_or_missing(value: str) -> None:
    request = signed()
    headers = {**request.headers, "x-plivo-signature-v3": value}
    with pytest.raises((SignatureInvalid, SignatureMissing)):
        await plivo().verify(WebhookRequest("POST", URL, headers, request.body))


async def test_either_of_two_tokens_is_accepted_during_rotation() -> None:
    provider = plivo("old-token", "new-token")
    await provider.verify(signed(token="old-token"))
    await provider.verify(signed(token="new-token"))
    with pytest.raises(SignatureInvalid):
        await provider.verify(signed(token="another"))


async def test_main_account_v3_signature_is_accepted() -> None:
    request = signed(token="main-token", v3="x-plivo-signature-ma-v3")
    await plivo("main-token").verify(request)


async def test_v3_without_its_nonce_is_401_naming_it() -> None:
    request = signed()
    headers = {k: v for k, v in request.headers.items() if k != "x-plivo-signature-v3-nonce"}
    with pytest.raises(SignatureMissing) as caught:
        await plivo().verify(WebhookRequest("POST", URL, headers, request.body))
    assert caught.value.field == "x-plivo-signature-v3-nonce"


async def test_v3_over_a_body_that_is_not_a_form_is_refused() -> None:
    request = signed()
    headers = {**request.headers, "content-type": "application/json"}
    with pytest.raises(UnsupportedMediaType):
        await plivo().verify(WebhookRequest("POST", URL, headers, b'{"Text": "x"}'))
    headers = {**request.headers}
    with pytest.raises(MalformedBody):
        await plivo().verify(WebhookRequest("POST", URL, headers, b"Text=%ff"))


async def test_a_request_under_v3_has_no_single_use_nonce() -> None:
    assert plivo().single_use_nonce(signed()) is None


# -- V2 alone ----------------------------------------------------------------------------------


async def test_v2_alone_is_refused_by_default_naming_v3() -> None:
    with pytest.raises(SignatureMissing) as caught:
        await plivo().verify(v2_only())
    assert caught.value.field == "x-plivo-signature-v3"
    assert "V2 alone" in caught.value.message


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_v2_alone_is_accepted_where_allowed_with_its_nonce_good_once(method: str) -> None:
    provider = plivo(allow_v2_only=True)
    request = v2_only(method=method)
    await provider.verify(request)
    assert provider.single_use_nonce(request) == NONCE


async def test_v2_query_string_is_not_part_of_the_signed_url() -> None:
    request = v2_only(url=URL + "?service=appointments")
    assert request.url.endswith("?service=appointments")
    await plivo(allow_v2_only=True).verify(request)


async def test_v2_covers_the_path_and_the_nonce() -> None:
    request = v2_only()
    moved = WebhookRequest("POST", URL + "-other", request.headers, request.body)
    renonced = WebhookRequest(
        "POST", URL, {**request.headers, "x-plivo-signature-v2-nonce": "1" + NONCE}, request.body
    )
    for tampered in (moved, renonced):
        with pytest.raises(SignatureInvalid):
            await plivo(allow_v2_only=True).verify(tampered)


async def test_v2_either_of_two_tokens_and_the_main_accounts_are_accepted() -> None:
    provider = plivo("old-token", "new-token", allow_v2_only=True)
    await provider.verify(v2_only(token="old-token"))
    await provider.verify(v2_only(token="new-token", header="x-plivo-signature-ma-v2"))
    with pytest.raises(SignatureInvalid):
        await provider.verify(v2_only(token="another"))


@pytest.mark.parametrize("header", ["x-plivo-signature-v2", "x-plivo-signature-v2-nonce"])
async def test_v2_missing_header_is_401_naming_it(header: str) -> None:
    request = v2_only()
    headers = {k: v for k, v in request.headers.items() if k != header}
    with pytest.raises(SignatureMissing) as caught:
        await plivo(allow_v2_only=True).verify(WebhookRequest("POST", URL, headers, request.body))
    assert caught.value.field == header


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "\udcff"])
async def test_v2_malformed_signature_is_refused(value: str) -> None:
    request = v2_only()
    headers = {**request.headers, "x-plivo-signature-v2": value}
    with pytest.raises(SignatureInvalid):
        await plivo(allow_v2_only=True).verify(WebhookRequest("POST", URL, headers, request.body))


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["MessageUUID", "From", "To"])
def test_missing_field_is_named(field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        plivo().parse(signed([(k, v) for k, v in FIELDS if k != field]))
    assert caught.value.field == field


def test_mms_keeps_its_text() -> None:
    fields = [(k, v) for k, v in FIELDS if k not in {"Text", "Type"}]
    [message] = plivo().parse(signed([*fields, ("Type", "mms"), ("Body", "photo attached")]))
    assert message.text == "photo attached"


def test_other_message_types_are_named() -> None:
    fields = [(k, v) for k, v in FIELDS if k != "Type"]
    with pytest.raises(PayloadInvalid) as caught:
        plivo().parse(signed([*fields, ("Type", "whatsapp")]))
    assert caught.value.field == "Type"


@pytest.mark.parametrize("sender", ["GOVUK", "60123"])
def test_alphanumeric_senders_and_short_codes_are_kept(sender: str) -> None:
    fields = [(k, sender if k == "From" else v) for k, v in FIELDS]
    [message] = plivo().parse(signed(fields))
    assert message.sender == sender


def test_json_body_is_unsupported() -> None:
    request = signed()
    headers = {**request.headers, "content-type": "application/json"}
    with pytest.raises(UnsupportedMediaType):
        plivo().parse(WebhookRequest("POST", URL, headers, b"{}"))


def test_answer_is_an_empty_plivo_xml_response() -> None:
    reply = plivo().accepted([])
    assert (reply.status, reply.content_type) == (200, "application/xml")
    assert b"<Response></Response>" in reply.body


@settings(max_examples=300, deadline=None)
@given(
    requests(
        {
            "x-plivo-signature-v2": st.just(signature(URL)),
            "x-plivo-signature-v2-nonce": st.just(NONCE),
            "x-plivo-signature-v3": st.just(signature_v3(URL, FIELDS, "POST")),
            "x-plivo-signature-v3-nonce": st.just(NONCE_V3),
        },
        bodies(form=FIELDS),
        methods=("GET", "POST"),
    ),
    st.booleans(),
)
def test_any_request_raises_only_webhook_errors(request: WebhookRequest, allow: bool) -> None:
    only_webhook_errors(plivo(allow_v2_only=allow), request)
    plivo(allow_v2_only=allow).single_use_nonce(request)
