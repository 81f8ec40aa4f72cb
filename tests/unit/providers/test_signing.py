"""The HMACs and base64 providers are checked with: the same answers as the standard library's
slower forms."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from inbound.providers.signing import decode_base64, hmac_sha1, hmac_sha256, matches_any

# Keys shorter than, equal to and longer than the hashes' 64-byte block (hashed first).
KEYS = st.binary(min_size=0, max_size=130)


@given(key=KEYS, messages=st.lists(st.binary(max_size=300), min_size=1, max_size=4))
def test_each_message_gets_a_fresh_hmacs_digest_under_a_reused_key(
    key: bytes, messages: list[bytes]
) -> None:
    # The same key over several messages: nothing of one message may carry into the next.
    for message in messages:
        assert hmac_sha1(key, message) == hmac.new(key, message, hashlib.sha1).digest()
        assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


def test_a_known_answer() -> None:
    # RFC 2202, test case 2.
    assert hmac_sha1(b"Jefe", b"what do ya want for nothing?").hex() == (
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    )


def test_matches_any_takes_either_key_during_rotation() -> None:
    message = b"body"
    signed = hmac_sha256(b"new-key", message)
    assert matches_any(signed, [b"old-key", b"new-key"], message, hmac_sha256)
    assert not matches_any(signed, [b"old-key", b"other"], message, hmac_sha256)


@given(st.text(st.sampled_from("ABCxyz019+/= \n-_é"), max_size=14))
def test_decode_base64_accepts_and_refuses_what_b64decode_validate_does(text: str) -> None:
    def outcome(decode: Callable[[str], bytes]) -> bytes | str:
        try:
            return decode(text)
        except (binascii.Error, ValueError):
            return "refused"

    assert outcome(decode_base64) == outcome(lambda t: base64.b64decode(t, validate=True))


@given(st.binary(max_size=40))
def test_decode_base64_reads_every_encoding(raw: bytes) -> None:
    assert decode_base64(base64.b64encode(raw).decode("ascii")) == raw
