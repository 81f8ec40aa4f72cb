"""Normalisation: case, accents, quotes, punctuation and emoji fold away; words stay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.rules.normalise import normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES", "yes"),
        ("  Yes!!  ", "yes"),
        ("Yes 👍", "yes"),
        ("yes 👍🏽", "yes"),
        ("1️⃣", "1"),
        ("ok.", "ok"),
        ("Café", "cafe"),
        ("CAFÉ", "cafe"),
        ("Cafe\u0301", "cafe"),
        ("don't", "dont"),
        ("don’t", "dont"),
        ("“yes”", "yes"),
        ("Straße", "strasse"),
        ("ＹＥＳ", "yes"),
        ("yes,please", "yes please"),
        ("yes\n\tplease", "yes please"),
        ("Ydw, diolch", "ydw diolch"),
        ("Ŵyl", "wyl"),
        ("نعم", "نعم"),
        ("نَعَم", "نعم"),
        ("٣", "٣"),
        ("हाँ", "हाँ"),  # chandrabindu is part of the word, not an accent
        ("네", "네"),
        ("💬🎉", ""),
        ("...", ""),
        ("", ""),
        ("ref #A-12/3", "ref a 12 3"),
        ("DIYARBAKIR ıi", "diyarbakir ii"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_normalise_ignores_case(text: str) -> None:
    assert normalise(text.upper()) == normalise(text.lower()) == normalise(text.casefold())


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_agrees_with_the_general_path(text: str) -> None:
    # A no-break space sends the text down the general path and folds to an ordinary space.
    assert normalise(text) == normalise(text + "\u00a0")


@given(st.text())
def test_normalised_text_is_single_spaced_words(text: str) -> None:
    result = normalise(text)
    assert result == result.strip()
    assert "  " not in result
