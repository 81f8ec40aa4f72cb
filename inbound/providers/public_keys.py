"""Ed25519 public keys given in a setting (Telnyx signs its webhooks with Ed25519).

Pure, and apart from the provider module, so the settings can check a key at start-up without
importing a provider (which imports the settings).
"""

from __future__ import annotations

import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from inbound.providers.signing import decode_base64

# A key given as DER SubjectPublicKeyInfo (base64 of 44 bytes) instead of the raw 32 bytes.
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def public_keys(setting: str) -> list[Ed25519PublicKey]:
    """The comma-separated base64 public keys of a setting (two during a rotation).

    Raises ValueError naming what is wrong, so a bad key stops start-up.
    """
    keys = []
    for number, text in enumerate((part.strip() for part in setting.split(",")), start=1):
        if not text:
            continue
        try:
            raw = decode_base64(text)
        except (binascii.Error, ValueError):
            raise ValueError(f"public key {number} is not base64") from None
        if len(raw) == len(_SPKI_PREFIX) + 32 and raw.startswith(_SPKI_PREFIX):
            raw = raw[len(_SPKI_PREFIX) :]
        if len(raw) != 32:
            raise ValueError(f"public key {number} is not a 32-byte Ed25519 key")
        keys.append(Ed25519PublicKey.from_public_bytes(raw))
    if not keys:
        raise ValueError("no public key given")
    return keys
