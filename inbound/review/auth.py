"""Passwords (argon2id), TOTP second factor, and random tokens.

No network or database, but not pure: it reads the clock and the system's random source.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
ISSUER = "inbound review"


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the account doesn't exist, so timing gives no hint either way. Made
    # on first use, not at import: a hash takes ~0.1 s that every `inbound` command paid.
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _HASHER.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True when the password matches; spends the same effort when there is no account."""
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A random initial password for an administrator to pass on."""
    return secrets.token_urlsafe(15)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def totp_qr_svg(secret: str, email: str) -> str:
    """The enrolment QR code as an SVG document (served as an image, no script)."""
    qr = segno.make(totp_uri(secret, email), error="m")
    svg: str = qr.svg_inline(scale=5, title="Two-factor enrolment code")
    return svg


def check_totp(secret: str | None, code: str) -> bool:
    """True for the current code (or the one either side, for clock drift)."""
    code = "".join(code.split())
    if secret is None or not code.isdigit():
        return False
    return bool(pyotp.TOTP(secret).verify(code, valid_window=1))


def new_token() -> str:
    """A random token for a cookie, a CSRF field or an API client."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()
