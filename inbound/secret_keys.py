"""INBOUND_SECRET_KEY's value: one or more Fernet keys, comma-separated, the first one sealing."""

from __future__ import annotations

from cryptography.fernet import Fernet

MAKE_ONE = (
    "make one with `python3 -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'`"
)


def split_keys(text: str) -> list[str]:
    """The keys in order; ValueError says which one isn't a Fernet key (never printing it)."""
    keys = [part.strip() for part in text.split(",") if part.strip()]
    if not keys:
        raise ValueError("no key given")
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"key {number} of {len(keys)} is not a Fernet key (32 url-safe base64 bytes; "
                f"{MAKE_ONE})"
            ) from None
    return keys
