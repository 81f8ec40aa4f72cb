"""API keys in GOV.UK Notify's format, and checking the JWTs Notify's clients sign with them.
Pure: no I/O; the caller finds the stored secrets and decides what a match may do.

A Notify API key is `{name}-{service id}-{secret}`, both UUIDs: notifications-python-client
reads `api_key[-73:-37]` as the service id and `api_key[-36:]` as the secret
(`BaseAPIClient.__init__`), and sends `Authorization: Bearer <JWT>`, HS256 over
`{"iss": service id, "iat": now}` signed with the secret (`authentication.create_jwt_token`).
Notify's API (`app/authentication/auth.py`) finds the service by `iss`, tries each of its keys'
secrets, refuses a matching key that is revoked, and a token whose `iat` is more than 30 s
from its own clock either way. Its refusals are 401 (no bearer token) or 403, as
`{"status_code", "errors": [{"error": "AuthError", "message"}]}`; the messages below are its
own words, so a team's existing error handling reads them as before.

inbound has no service UUIDs (a service is named in its rule file), so a service's `iss` is
derived from its name (`service_uuid`): the same on every install and stable for ever.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import jwt

# Fixed for ever: changing it would change every service's iss and break every key issued.
SERVICES_NAMESPACE = uuid.UUID("5b1a8f3e-0d7c-4c9e-9d43-6e0b9f0e1a17")
ALGORITHM = "HS256"
CLOCK_BOUND = 30  # seconds either way, as Notify (notifications_python_client.authentication)
_NAME_SPACES = re.compile(r"\s+")


class NotifyAuthError(Exception):
    """A request Notify's API would refuse: its status and Notify's words for why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignatureMismatch(Exception):
    """The token is not signed with this secret (try the service's next key)."""


MISSING = NotifyAuthError(401, "Unauthorized, authentication token must be provided")
NOT_BEARER = NotifyAuthError(401, "Unauthorized, authentication bearer scheme must be used")
NO_ISSUER = NotifyAuthError(403, "Invalid token: iss field not provided")
NOT_A_SERVICE_ID = NotifyAuthError(403, "Invalid token: service id is not the right data type")
NO_SERVICE = NotifyAuthError(403, "Invalid token: service not found")
BAD_SIGNATURE = NotifyAuthError(403, "Invalid token: signature, api token is not valid")
CLOCK = NotifyAuthError(403, "Invalid token: expired, check that your system clock is accurate")
REVOKED = NotifyAuthError(403, "Invalid token: API key revoked")
# Not Notify's (its keys don't expire); written in the same style.
EXPIRED_KEY = NotifyAuthError(403, "Invalid token: API key expired, ask for a new one")


def service_uuid(service_id: str) -> uuid.UUID:
    """The UUID standing for an inbound service where Notify has a service id."""
    return uuid.uuid5(SERVICES_NAMESPACE, service_id)


@dataclass(frozen=True)
class NotifyKey:
    """A key made for a service: the whole key (shown once), and its two parts."""

    key: str
    issuer: uuid.UUID
    secret: str


def make_key(name: str, service_id: str, secret: uuid.UUID) -> NotifyKey:
    """The key `{name}-{service uuid}-{secret}`; spaces in the name become underscores, since
    a key is copied as one word (clients read only its last 73 characters)."""
    issuer = service_uuid(service_id)
    label = _NAME_SPACES.sub("_", name.strip())
    return NotifyKey(f"{label}-{issuer}-{secret}", issuer, str(secret))


def looks_like_jwt(token: str) -> bool:
    """True for three dot-separated parts: a JWT, not one of inbound's own bearer tokens (which
    are URL-safe base64 without dots)."""
    return token.count(".") == 2


def issuer(token: str) -> uuid.UUID:
    """The service UUID a token says it is from, read before any signature is checked (the
    issuer says which secrets to try). NotifyAuthError in Notify's words when there is none."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise BAD_SIGNATURE from None
    if not isinstance(claims, dict) or "iss" not in claims:
        raise NO_ISSUER
    try:
        return uuid.UUID(str(claims["iss"]))
    except ValueError:
        raise NOT_A_SERVICE_ID from None


def verify(token: str, secret: str, now: int) -> None:
    """Check a token against one key's secret at `now` (epoch seconds).

    SignatureMismatch when it isn't signed with this secret (or not as HS256); NotifyAuthError
    CLOCK when it is, but its `iat` is missing or more than CLOCK_BOUND seconds from `now`.
    """
    try:
        claims = jwt.decode(
            token,
            key=secret,
            algorithms=[ALGORITHM],
            # iat is checked below against `now`, not PyJWT's own clock.
            options={"verify_iat": False, "verify_exp": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        raise SignatureMismatch from None
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        raise CLOCK
    if abs(now - int(issued)) > CLOCK_BOUND:
        raise CLOCK


def error_body(error: NotifyAuthError) -> dict[str, object]:
    """Notify's error JSON for an authentication refusal (AuthError.to_dict_v2)."""
    return {
        "status_code": error.status,
        "errors": [{"error": "AuthError", "message": error.message}],
    }
