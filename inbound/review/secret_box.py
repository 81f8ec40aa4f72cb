"""Two-factor keys sealed at rest (users.totp_secret, sessions.totp_pending).

Sealed with Fernet (AES-128-CBC and HMAC-SHA256) under INBOUND_SECRET_KEY: comma-separated keys,
the first seals, any of them opens, so a key is rotated by putting the new one first. A key
stored before sealing existed (a clear base32 key) still opens, and is sealed at its next use.

With no INBOUND_SECRET_KEY, a local SQLite install makes its own key in a file beside the
database (`inbound.db.secret-key`, mode 0600), so `make run` works as it is; any other database
refuses to serve the review pages until a key is set, because a key made on a throwaway disk
would lock every account out of two-factor when the disk went.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from inbound.secret_keys import MAKE_ONE, split_keys
from inbound.store.reachable import sqlite_file

KEY_FILE_SUFFIX = ".secret-key"
_CLEAR = re.compile(r"[A-Z2-7]+=*")  # a base32 TOTP key as pyotp makes it; Fernet's start "gAAA"


class SecretKeyError(Exception):
    """INBOUND_SECRET_KEY is missing or can't open what is stored; the message says what to do."""


class SealedWithUnknownKey(Exception):
    """A stored value that none of the configured keys opens."""


def is_clear(stored: str) -> bool:
    """True for a key stored before sealing existed (plain base32)."""
    return _CLEAR.fullmatch(stored) is not None


class SecretBox:
    """Seals and opens two-factor keys with the configured keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._first = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def seal(self, plain: str) -> str:
        """The value to store for a two-factor key."""
        return self._first.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The two-factor key a stored value holds; SealedWithUnknownKey if no key opens it."""
        if is_clear(stored):
            return stored
        try:
            return self._all.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SealedWithUnknownKey from None

    def is_current(self, stored: str) -> bool:
        """True when the value is sealed with the first key (nothing to re-seal)."""
        if is_clear(stored):
            return False
        try:
            self._first.decrypt(stored.encode())
        except InvalidToken:
            return False
        return True


@dataclass(frozen=True)
class BoxSource:
    """The box and where its key came from (for the start-up log line)."""

    box: SecretBox
    source: str  # "INBOUND_SECRET_KEY", or the key file's path
    made: bool  # True when the key file was made just now


def box_for(secret_key: str | None, database_url: str) -> BoxSource:
    """The box for these settings: INBOUND_SECRET_KEY, else a local SQLite install's key file.

    Raises SecretKeyError (one line, saying how to fix it) when neither can be had.
    """
    if secret_key:
        return BoxSource(SecretBox(split_keys(secret_key)), "INBOUND_SECRET_KEY", made=False)
    database = sqlite_file(database_url)
    if database is None:
        raise SecretKeyError(
            "INBOUND_SECRET_KEY is not set: the review pages seal two-factor keys with it. "
            f"{MAKE_ONE[0].upper()}{MAKE_ONE[1:]}, keep it with your other secrets, and set it "
            "on every process that serves the review pages"
        )
    path = database.with_name(database.name + KEY_FILE_SUFFIX)
    made = _make_key_file(path)
    text = path.read_text().strip()
    try:
        keys = split_keys(text)
    except ValueError as error:
        raise SecretKeyError(f"the key file {path} is damaged ({error}): {MAKE_ONE}") from None
    return BoxSource(SecretBox(keys), str(path), made)


def _make_key_file(path: Path) -> bool:
    """Write a new key to `path` (0600) unless one is there; True when written now.

    Written whole to a file of its own, then linked into place: another process starting
    alongside either finds no file or a complete one, never a half-written key.
    """
    if path.exists():
        return False
    draft: Path | None = None
    try:
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
        draft = Path(name)
        with os.fdopen(descriptor, "w") as file:
            file.write(Fernet.generate_key().decode() + "\n")
        os.link(draft, path)  # fails if a key appeared meanwhile: that one is kept
    except FileExistsError:
        return False
    except OSError as error:
        raise SecretKeyError(
            f"INBOUND_SECRET_KEY is not set and no key file could be made at {path} "
            f"({error.strerror}): set INBOUND_SECRET_KEY ({MAKE_ONE})"
        ) from None
    finally:
        if draft is not None:
            draft.unlink(missing_ok=True)
    return True
