"""The shared HTTP Basic check, with headers built as RFC 7617 describes."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from pydantic import SecretStr

from inbound.providers.base import SignatureInvalid, SignatureMissing, WebhookError, WebhookRequest
from inbound.providers.basic_auth import (
    CHALLENGE,
    BasicAuth,
    CredentialsMissing,
    basic_auth,
    parse_credentials,
)
from tests.unit.providers.arbitrary import ANY_TEXT, basic_headers


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(authorization: str | None) -> WebhookRequest:
    headers = {} if authorization is None else {"authorization": authorization}
    return WebhookRequest("POST", "https://x/webhooks/mmg", headers, b"{}")


def auth(setting: str) -> BasicAuth:
    checker = basic_auth(SecretStr(setting), "INBOUND_TEST")
    assert checker is not None
    return checker


def test_matching_credentials_pass() -> None:
    auth("notify:s3cret").check(request(basic("notify", "s3cret")))


def test_password_may_contain_colons_and_unicode() -> None:
    auth("notify:a:b:ç").check(request(basic("notify", "a:b:ç")))


def test_either_of_two_pairs_is_accepted_during_rotation() -> None:
    checker = auth("old:pw-1, new:pw-2")
    checker.check(request(basic("old", "pw-1")))
    checker.check(request(basic("new", "pw-2")))


@pytest.mark.parametrize(
    ("user", "password"),
    [
        pytest.param("notify", "wrong", id="wrong-password"),
        pytest.param("other", "s3cret", id="wrong-user"),
        pytest.param("old", "pw-2", id="pairs-crossed"),
        pytest.param("notify", "", id="empty-password"),
        pytest.param("notify", "s3cret ", id="trailing-space"),
    ],
)
def test_wrong_credentials_are_403(user: str, password: str) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        auth("notify:s3cret,old:pw-1,new:pw-2").check(request(basic(user, password)))
    assert caught.value.status == 403
    assert caught.value.field == "Authorization"


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic", "Basic   ", "Bearer abc.def.ghi", "Digest username=x"],
)
def test_absent_credentials_are_401_with_a_challenge(header: str | None) -> None:
    with pytest.raises(CredentialsMissing) as caught:
        auth("notify:s3cret").check(request(header))
    assert isinstance(caught.value, SignatureMissing)
    assert caught.value.status == 401
    assert caught.value.headers == {"WWW-Authenticate": 'Basic realm="inbound"'}
    assert CHALLENGE == 'Basic realm="inbound"'


@pytest.mark.parametrize(
    "header",
    ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic é"],
)
def test_malformed_credentials_are_403(header: str) -> None:
    with pytest.raises(SignatureInvalid):
        auth("notify:s3cret").check(request(header))


def test_scheme_name_is_case_insensitive() -> None:
    auth("notify:s3cret").check(request(basic("notify", "s3cret").replace("Basic", "bAsIc")))


@pytest.mark.parametrize("setting", ["no-colon", ":password", "user:", "a:b,broken"])
def test_malformed_setting_is_refused_at_start(setting: str) -> None:
    with pytest.raises(ValueError, match="INBOUND_TEST"):
        parse_credentials(SecretStr(setting), "INBOUND_TEST")


@pytest.mark.parametrize("setting", [None, "", " , "])
def test_unset_or_blank_setting_is_disabled(setting: str | None) -> None:
    assert basic_auth(None if setting is None else SecretStr(setting), "INBOUND_TEST") is None


@given(header=basic_headers() | ANY_TEXT)
def test_any_authorization_header_gives_only_webhook_errors(header: str) -> None:
    with contextlib.suppress(WebhookError):
        auth("notify:s3cret").check(request(header))
