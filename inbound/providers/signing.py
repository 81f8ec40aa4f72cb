"""Constant-time signature checks shared by the providers that sign with an HMAC. Pure."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

Digest = Callable[[bytes, bytes], bytes]


# hmac.digest with a digest name is OpenSSL's one-shot HMAC: the same bytes as
# hmac.new(...).digest() without building an HMAC object and its two hash objects in Python.


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA1 digest bytes."""
    return hmac.digest(key, message, "sha1")


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 digest bytes."""
    return hmac.digest(key, message, "sha256")


def matches_any(expected: bytes, keys: Iterable[bytes], message: bytes, digest: Digest) -> bool:
    """True when `expected` is the digest of `message` under any key (two during rotation).

    Every key is tried, so the time taken doesn't reveal which one matched.
    """
    found = False
    for key in keys:
        found |= hmac.compare_digest(expected, digest(key, message))
    return found
