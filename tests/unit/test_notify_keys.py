"""Keys in GOV.UK Notify's format and the JWTs its clients sign with them, checked as Notify's
API checks them (inbound.notify_keys), with tokens made by Notify's own Python client."""

from __future__ import annotations

import uuid

import jwt
import pytest
from notifications_python_client.authentication import create_jwt_token
from notifications_python_client.base import BaseAPIClient

from inbound import notify_keys
from inbound.notify_keys import NotifyAuthError, SignatureMismatch

SECRET = uuid.UUID("f89b9a7c-80a0-4623-aa2f-4f4ed609bae5")
NOW = 1_800_000_000


def test_a_key_is_read_by_notifys_client_as_the_services_uuid_and_the_secret() -> None:
    made = notify_keys.make_key("crm reader", "appointments", SECRET)
    client = BaseAPIClient(made.key, base_url="http://inbound.example")
    assert made.key.startswith("crm_reader-")
    assert client.service_id == str(notify_keys.service_uuid("appointments")) == str(made.issuer)
    assert client.api_key == str(SECRET) == made.secret


def test_a_services_uuid_is_stable_and_its_own() -> None:
    assert notify_keys.service_uuid("appointments") == notify_keys.service_uuid("appointments")
    assert notify_keys.service_uuid("appointments") != notify_keys.service_uuid("feedback")
    # Fixed for ever: every key issued names it.
    assert str(notify_keys.service_uuid("appointments")) == "dbd25078-bcb0-575a-b7a8-a931ece3013b"


def test_a_token_from_notifys_client_is_verified_with_its_secret() -> None:
    issuer = str(notify_keys.service_uuid("appointments"))
    token = create_jwt_token(str(SECRET), issuer)
    assert notify_keys.looks_like_jwt(token)
    assert notify_keys.issuer(token) == uuid.UUID(issuer)
    notify_keys.verify(
        token, str(SECRET), jwt.decode(token, options={"verify_signature": False})["iat"]
    )


def _signed(claims: dict[str, object], secret: str = str(SECRET), algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


@pytest.mark.filterwarnings("ignore:The HMAC key is 36 bytes long")
def test_another_secret_or_algorithm_is_a_mismatch_so_the_next_key_is_tried() -> None:
    claims = {"iss": str(uuid.uuid4()), "iat": NOW}
    with pytest.raises(SignatureMismatch):
        notify_keys.verify(_signed(claims, str(uuid.uuid4())), str(SECRET), NOW)
    with pytest.raises(SignatureMismatch):
        notify_keys.verify(_signed(claims, algorithm="HS512"), str(SECRET), NOW)
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(SignatureMismatch):
        notify_keys.verify(unsigned, str(SECRET), NOW)


@pytest.mark.parametrize(
    ("iat", "accepted"),
    [(NOW, True), (NOW - 30, True), (NOW + 30, True), (NOW - 31, False), (NOW + 31, False)],
)
def test_iat_must_be_within_30_seconds_either_way(iat: int, accepted: bool) -> None:
    token = _signed({"iss": str(uuid.uuid4()), "iat": iat})
    if accepted:
        notify_keys.verify(token, str(SECRET), NOW)
        return
    with pytest.raises(NotifyAuthError) as refused:
        notify_keys.verify(token, str(SECRET), NOW)
    assert refused.value is notify_keys.CLOCK
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"iat": NOW}, notify_keys.NO_ISSUER),
        ({"iss": "appointments", "iat": NOW}, notify_keys.NOT_A_SERVICE_ID),
    ],
)
def test_the_issuer_must_be_a_uuid(claims: dict[str, object], refusal: NotifyAuthError) -> None:
    with pytest.raises(NotifyAuthError) as refused:
        notify_keys.issuer(_signed(claims))
    assert refused.value is refusal


def test_a_token_without_iat_is_refused_as_notify_does() -> None:
    with pytest.raises(NotifyAuthError) as refused:
        notify_keys.verify(_signed({"iss": str(uuid.uuid4())}), str(SECRET), NOW)
    assert refused.value is notify_keys.CLOCK


def test_garbage_is_a_bad_signature() -> None:
    with pytest.raises(NotifyAuthError) as refused:
        notify_keys.issuer("not.a.jwt")
    assert refused.value is notify_keys.BAD_SIGNATURE


def test_refusals_are_in_notifys_error_shape() -> None:
    assert notify_keys.error_body(notify_keys.REVOKED) == {
        "status_code": 403,
        "errors": [{"error": "AuthError", "message": "Invalid token: API key revoked"}],
    }
