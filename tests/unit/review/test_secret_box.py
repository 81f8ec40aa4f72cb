"""Sealing two-factor keys: first key seals, any opens, clear keys from before still open, and
where the key comes from when INBOUND_SECRET_KEY is unset."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
import pytest

from inbound.review.secret_box import (
    SealedWithUnknownKey,
    SecretBox,
    SecretKeyError,
    box_for,
    is_clear,
)
from inbound.secret_keys import split_keys

KEY_1, KEY_2 = (
    "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=",
    "MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=",
)
SECRET = pyotp.random_base32()


def test_a_sealed_key_is_not_the_key_and_opens_to_it() -> None:
    box = SecretBox([KEY_1])
    sealed = box.seal(SECRET)
    assert SECRET not in sealed
    assert not is_clear(sealed)
    assert len(sealed) <= 255  # the column's width
    assert box.open(sealed) == SECRET


@pytest.mark.parametrize(
    ("sealed_with", "opened_with", "opens", "current"),
    [
        ([KEY_1], [KEY_1], True, True),
        ([KEY_1], [KEY_2, KEY_1], True, False),  # rotating: opens, wants re-sealing
        ([KEY_2], [KEY_2, KEY_1], True, True),
        ([KEY_1], [KEY_2], False, False),  # the key that sealed it is gone
    ],
)
def test_the_first_key_seals_and_any_key_opens(
    sealed_with: list[str], opened_with: list[str], opens: bool, current: bool
) -> None:
    sealed = SecretBox(sealed_with).seal(SECRET)
    box = SecretBox(opened_with)
    assert box.is_current(sealed) is current
    if opens:
        assert box.open(sealed) == SECRET
    else:
        with pytest.raises(SealedWithUnknownKey):
            box.open(sealed)


def test_a_key_stored_in_clear_before_sealing_still_opens_and_wants_sealing() -> None:
    box = SecretBox([KEY_1])
    assert is_clear(SECRET)
    assert box.open(SECRET) == SECRET
    assert not box.is_current(SECRET)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no key given"),
        (" , ", "no key given"),
        ("not-a-key", "key 1 of 1 is not a Fernet key"),
        (f"{KEY_1},{KEY_2[:-2]}", "key 2 of 2 is not a Fernet key"),
    ],
)
def test_a_secret_key_setting_names_the_key_that_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        split_keys(text)
    assert KEY_1 not in str(raised.value)


def test_with_the_setting_its_keys_are_used(tmp_path: Path) -> None:
    source = box_for(f"{KEY_2},{KEY_1}", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert source.source == "INBOUND_SECRET_KEY"
    assert source.box.is_current(SecretBox([KEY_2]).seal(SECRET))
    assert not (tmp_path / "x.db.secret-key").exists()


def test_without_the_setting_a_sqlite_install_makes_a_private_key_file_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}"
    first, second = box_for(None, url), box_for(None, url)
    key_file = tmp_path / "inbound.db.secret-key"
    assert (first.made, second.made) == (True, False)
    assert first.source == second.source == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert second.box.open(first.box.seal(SECRET)) == SECRET


def test_processes_starting_together_share_one_key_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        sources = list(pool.map(lambda _: box_for(None, url), range(8)))
    assert sum(source.made for source in sources) == 1
    sealed = sources[0].box.seal(SECRET)
    assert {source.box.open(sealed) for source in sources} == {SECRET}
    assert [p.name for p in tmp_path.iterdir()] == ["inbound.db.secret-key"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://inbound@db.internal/inbound",
        "sqlite+aiosqlite:///:memory:",
    ],
)
def test_without_the_setting_any_other_database_is_told_how_to_make_one(url: str) -> None:
    with pytest.raises(SecretKeyError, match=r"^INBOUND_SECRET_KEY is not set: ") as refused:
        box_for(None, url)
    assert "Fernet.generate_key()" in str(refused.value)


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "inbound.db.secret-key").write_text("garbage\n")
    with pytest.raises(SecretKeyError, match=r"inbound\.db\.secret-key is damaged"):
        box_for(None, f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}")
