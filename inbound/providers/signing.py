"""Constant-time signature checks shared by the providers that sign with an HMAC. Pure."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

Digest = Callable[[bytes, bytes], bytes]


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA1 digest bytes."""
    return hmac.new(key, message, hashlib.sha1).digest()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 digest bytes."""
    return hmac.new(key, message, hashlib.sha256).digest()


def matches_any(expected: bytes, keys: Iterable[bytes], message: bytes, digest: Digest) -> bool:
    """True when `expected` is the digest of `message` under any key (two during rotation).

    Every key is tried, so the time taken doesn't reveal which one matched.
    """
    found = False
    for key in keys:
        found |= hmac.compare_digest(expected, digest(key, message))
    return found
