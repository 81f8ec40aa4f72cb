"""HTTP Basic credentials for the providers that authenticate that way. Pure.

A setting holds `user:password`, or two pairs separated by a comma while credentials rotate
(so neither part can contain a comma, and the user can't contain a colon: RFC 7617).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from inbound.providers.base import SignatureInvalid, SignatureMissing, WebhookRequest
from inbound.providers.signing import decode_base64

REALM = "inbound"
CHALLENGE = f'Basic realm="{REALM}"'


class CredentialsMissing(SignatureMissing):
    """No Basic credentials: a 401 that must challenge, or Bandwidth never sends them."""

    headers: Mapping[str, str] = {"WWW-Authenticate": CHALLENGE}


@dataclass(frozen=True)
class Credential:
    """One accepted user and password, held as SHA-256 digests for a length-blind comparison."""

    user: bytes
    password: bytes

    @classmethod
    def of(cls, user: str, password: str) -> Credential:
        """A credential from its clear-text parts."""
        return cls(_digest(user.encode("utf-8")), _digest(password.encode("utf-8")))


def _digest(value: bytes) -> bytes:
    # Comparing fixed-size digests keeps the time independent of the secret's length too.
    return hashlib.sha256(value).digest()


def parse_credentials(secret: SecretStr | None, setting: str) -> list[Credential]:
    """The `user:password[,user:password]` pairs of a setting; a malformed one is a ValueError.

    Raised at start-up, so a typo in the setting stops the service instead of refusing every
    genuine webhook.
    """
    if secret is None:
        return []
    found = []
    for pair in secret.get_secret_value().split(","):
        pair = pair.strip()
        if not pair:
            continue
        user, colon, password = pair.partition(":")
        if not colon or not user or not password:
            raise ValueError(f"{setting} must be user:password (two pairs comma-separated)")
        found.append(Credential.of(user, password))
    return found


class BasicAuth:
    """Checks a request's `Authorization: Basic …` against the accepted credentials."""

    def __init__(self, accepted: Sequence[Credential]) -> None:
        if not accepted:
            raise ValueError("BasicAuth needs at least one credential")
        self._accepted = tuple(accepted)

    def check(self, request: WebhookRequest) -> None:
        """Raise CredentialsMissing (401) or SignatureInvalid (403) unless a pair matches."""
        header = (request.header("authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        # Another scheme (Bearer…) means no credentials we can use: challenge, as RFC 7235 says.
        if scheme.lower() != "basic" or not token.strip():
            raise CredentialsMissing("Basic credentials are missing", field="Authorization")
        try:
            decoded = decode_base64(token.strip())
        except (binascii.Error, ValueError):
            raise SignatureInvalid(
                "Basic credentials are not base64", field="Authorization"
            ) from None
        user, colon, password = decoded.partition(b":")
        if not colon:
            raise SignatureInvalid("Basic credentials lack user:password", field="Authorization")
        given_user, given_password = _digest(user), _digest(password)
        matched = False
        # Every pair and both parts are compared, so timing says nothing about which part failed.
        for credential in self._accepted:
            user_ok = hmac.compare_digest(given_user, credential.user)
            password_ok = hmac.compare_digest(given_password, credential.password)
            matched |= user_ok & password_ok
        if not matched:
            raise SignatureInvalid("Basic credentials are not accepted", field="Authorization")


def basic_auth(secret: SecretStr | None, setting: str) -> BasicAuth | None:
    """A BasicAuth for a setting, or None when the setting is unset or blank."""
    accepted = parse_credentials(secret, setting)
    return BasicAuth(accepted) if accepted else None


class BasicAuthProvider:
    """Base for providers that prove themselves with HTTP Basic credentials alone."""

    def __init__(self, credentials: BasicAuth) -> None:
        self._credentials = credentials

    async def verify(self, request: WebhookRequest) -> None:
        """Check the Basic credentials."""
        self._credentials.check(request)
