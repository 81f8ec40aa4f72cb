"""Passwords (argon2id), TOTP second factor, and random tokens.

No network or database, but not pure: it reads the clock and the system's random source.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
ISSUER = "inbound review"
TOTP_DIGITS = 6


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
    # A document of its own needs the SVG namespace (svg_inline leaves it out, for embedding in
    # HTML): without it browsers show the <img> as broken and there is nothing to scan.
    # omitsize gives a viewBox instead of a fixed size, so the page's <img> scales it sharply;
    # light="#fff" paints the 4-module quiet zone, which a scanner needs, whatever the page's
    # background.
    document = io.BytesIO()
    qr.save(
        document,
        kind="svg",
        xmldecl=False,
        omitsize=True,
        light="#fff",
        title="Two-factor enrolment code",
    )
    return document.getvalue().decode()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is: the current step or one either side (clock drift);
    None when it matches none. The caller refuses a step already used."""
    code = "".join(code.split())
    # ASCII digits only: str.isdigit() accepts other scripts' digits, which compare_digest
    # would refuse with a TypeError.
    if not (code.isascii() and code.isdigit() and len(code) == TOTP_DIGITS):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        # compare_digest: timing says nothing about how much of a wrong code was right.
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_token() -> str:
    """A random token for a cookie, a CSRF field or an API client."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()
