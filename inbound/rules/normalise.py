"""Text normalisation shared by rule keywords and incoming messages. Pure: no I/O."""

from __future__ import annotations

import functools
import re
import unicodedata

# Typographic quotes become plain ones so that "don’t" and "don't" fold the same way. Dotless
# ı maps to i because str.upper() turns it into I, and a reply must not change meaning with case.
_FOLD = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "ʼ": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "ı": "i",
    }
)
# Apostrophes are dropped rather than spaced, so "dont" from a phone without one matches "don't".
_APOSTROPHE = "'"
_ASCII_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Fold case, accents, quotes, punctuation, symbols and emoji; keep letters and digits.

    The result is lower-case words of any script separated by single spaces.
    """
    if text.isascii():
        # Most replies are plain ASCII; this gives the same answer as the general path, faster.
        return " ".join(_ASCII_NON_WORD.sub(" ", text.lower().replace(_APOSTROPHE, "")).split())
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    kept: list[str] = []
    in_word = False
    for char in unicodedata.normalize("NFKD", folded):
        category = unicodedata.category(char)
        if category[0] in "LN":
            kept.append(char)
            in_word = True
        elif category[0] == "M":
            # Accents (combining marks) go; spacing vowel signs in scripts such as Devanagari are
            # part of the word and stay. Emoji variation selectors and keycaps are decoration.
            if in_word and not unicodedata.combining(char) and not _is_decoration(char, category):
                kept.append(char)
        elif category == "Cf" or char == _APOSTROPHE:
            # Zero-width joiners sit inside words (Persian) and emoji sequences; spacing them
            # would split a word in two.
            continue
        else:
            kept.append(" ")
            in_word = False
    # NFKD split Hangul syllables (and others) into parts; put them back together.
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def _is_decoration(char: str, category: str) -> bool:
    code = ord(char)
    return category == "Me" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


_REPEATS = re.compile(r"([^\W\d_])\1+")


def squeeze(normalised: str) -> str:
    """Collapse repeated letters ("yesss" → "yes", "cancelled" → "canceled") of normalised text.

    Keywords and messages are compared squeezed as well as exactly, so drawn-out replies match.
    """
    return " ".join([_squeeze_word(word) for word in normalised.split(" ")])


@functools.lru_cache(maxsize=65536)
def _squeeze_word(word: str) -> str:
    # Replies reuse a small vocabulary; a bounded cache of words keeps this off the hot path.
    return _REPEATS.sub(r"\1", word)


def symbols(text: str) -> str:
    """The emoji and other pictographs in `text`, without repeats or skin tones: "👍🏽👍" → "👍"."""
    if text.isascii():
        return ""
    kept: list[str] = []
    for char in text:
        if unicodedata.category(char) == "So" and (not kept or kept[-1] != char):
            kept.append(char)
    return "".join(kept)
