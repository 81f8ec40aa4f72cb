"""How a rule's `captures.reference` is written and checked: a regular expression, or a named
format (`{digits: 6}`, `{letters: 2, digits: 6}`, `postcode`, `nhs_number`, `ni_number`).
Pure: no I/O.

Each way compiles to one pattern plus an optional check that also gives the value's normal
form; the matcher, the caseworker's decision form and `rules test` all use `Reference.accept`
and `Reference.find`, so they agree on what a reference is.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inbound.rules.errors import RuleValueError

MAX_DIGITS = 30  # longer is a phone number or an account number pasted twice, not a reference
MAX_LETTERS = 10
# Names written as the whole of `reference:`; a letters-and-underscores regex could only ever
# match that literal word, which holds no digit, so it never captured a reference from a text.
NAMED = ("postcode", "nhs_number", "ni_number", "letters_then_digits")
_NAME = re.compile(r"^[a-z_]+$")
_KEYS = ("letters", "digits")
# `letters_then_digits` on its own: most councils' and agencies' case references.
_DEFAULT_LETTERS = (1, 3)
_DEFAULT_DIGITS = (4, 10)
# Trimmed from a word before a regex reference is tried on it, as the matcher always has:
# "(AB123456)." is the reference AB123456; '#' is stripped apart, from the front only.
_EDGE_PUNCTUATION = string.punctuation.replace("#", "") + "“”‘’«»"
# A named format is found in a text only as a whole token: never the middle of a longer number.
_BEFORE = r"(?<![0-9A-Za-z])"
_AFTER = r"(?![0-9A-Za-z])"

# GB postcodes (Royal Mail / BS 7666): outward code A9, A99, AA9, AA99, A9A or AA9A, then the
# inward code 9AA whose letters are never C, I, K, M, O or V; Q, V and X never open a postcode,
# I, J and Z are never second. GIR 0AA is Girobank's. Letters as in Royal Mail's published list.
_POSTCODE = (
    r"(?:GIR ?0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})"
)
# National Insurance numbers (HMRC's National Insurance Manual, NIM39110): two prefix letters,
# six digits, a suffix A to D, often written "QQ 12 34 56 C". D, F, I, Q, U and V are never in
# the prefix, O never second; the prefixes below are never allocated.
_NI_NUMBER = r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]"
_NI_UNUSED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
# NHS numbers: ten digits, often written 3-3-4 with spaces or hyphens ("943 476 5919").
_NHS_NUMBER = r"[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{4}"


class Mismatch:
    """What `Reference.find` gives when the text has reference-like words but none fits."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


@dataclass(frozen=True, eq=False)
class Reference:
    """A compiled `captures.reference`: how it was written, and how to find and check one."""

    written: str | Mapping[str, Any]  # as in the rule file, so it can be written back
    kind: str  # "regex", "digits", "letters_then_digits", "postcode" or "nhs_number"
    description: str  # what a reference must be, for people: "6 digits", "a GB postcode"
    pattern: re.Pattern[str]  # the whole reference, case-insensitive
    region: str | None = None  # the only region whose rule files may use it
    _normal: Callable[[str], str | None] = field(default=lambda text: text, repr=False)

    def accept(self, text: str) -> str | None:
        """`text` in its normal form when it is, in full, a reference of this kind; else None."""
        if not self.pattern.fullmatch(text):
            return None
        return self._normal(text)

    def find(self, text: str) -> str | Mismatch | None:
        """The first reference in `text`, in its normal form; a `Mismatch` when words with a
        digit are there but none is one (a person should look); None when there are none."""
        candidates = [
            word.strip(_EDGE_PUNCTUATION).lstrip("#")
            for word in text.split()
            if any(char.isdigit() for char in word)
        ]
        if not candidates:
            return None
        if self.kind == "regex":
            # Word by word, as the matcher has always read a regex reference.
            for candidate in candidates:
                if self.pattern.fullmatch(candidate):
                    return candidate
        else:
            # A postcode or an NHS number may hold spaces, so search the text itself.
            searching = re.compile(_BEFORE + self.pattern.pattern + _AFTER, re.IGNORECASE)
            for match in searching.finditer(text):
                found = self._normal(match.group())
                if found is not None:
                    return found
        if self.kind == "regex":
            return Mismatch("the reference is not in the expected form")
        return Mismatch(f"the reference is not {self.description}")

    # Equal when they accept the same references: two loads of one file give equal rules.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reference):
            return NotImplemented
        return (self.kind, self.pattern.pattern) == (other.kind, other.pattern.pattern)

    def __hash__(self) -> int:
        return hash((self.kind, self.pattern.pattern))


def parse(written: object) -> Reference:
    """`captures.reference` as a rule file writes it, compiled; a `RuleValueError` says how to
    fix it."""
    if isinstance(written, Reference):
        return written
    if isinstance(written, bool) or written is None:
        raise RuleValueError(f"expected a pattern or a format, got {written!r}", _FORMATS_FIX)
    if isinstance(written, int):
        written = str(written)
    if isinstance(written, str):
        if _NAME.match(written):
            return _named(written)
        if written.lower() in NAMED:
            # As a regex it could only match its own word, which holds no digit: a slip.
            raise RuleValueError(
                f"{written!r}: format names are written in lower case",
                f"write reference: {written.lower()}",
            )
        return _regex(written)
    if isinstance(written, Mapping):
        return _counted(written)
    raise RuleValueError(
        f"expected a pattern or a format, got {type(written).__name__}", _FORMATS_FIX
    )


def dump(reference: Reference) -> str | dict[str, Any]:
    """The reference as a rule file writes it."""
    return reference.written if isinstance(reference.written, str) else dict(reference.written)


_FORMATS_FIX = (
    "write a regular expression in single quotes, e.g. '[a-z]{2}[0-9]{6}', or a format: "
    "{digits: 6}, {digits: [4, 8]}, {letters: 2, digits: 6}, letters_then_digits, postcode, "
    "nhs_number or ni_number"
)


def _regex(written: str) -> Reference:
    try:
        pattern = re.compile(written, re.IGNORECASE)
    except re.error as error:
        raise RuleValueError(
            f"{written!r} is not a valid regular expression: {error.msg}",
            "check brackets and backslashes; in YAML, put the pattern in single quotes",
        ) from None
    return Reference(written, "regex", f"a match for {written}", pattern)


def _named(name: str) -> Reference:
    if name == "postcode":
        return Reference(
            name,
            "postcode",
            "a GB postcode, like SW1A 1AA",
            re.compile(_POSTCODE, re.IGNORECASE),
            region="GB",
            _normal=_postcode,
        )
    if name == "nhs_number":
        return Reference(
            name,
            "nhs_number",
            "an NHS number: 10 digits ending in a valid check digit",
            re.compile(_NHS_NUMBER),
            region="GB",
            _normal=_nhs_number,
        )
    if name == "ni_number":
        return Reference(
            name,
            "ni_number",
            "a National Insurance number, like QQ 12 34 56 C",
            re.compile(_NI_NUMBER, re.IGNORECASE),
            region="GB",
            _normal=_ni_number,
        )
    if name == "letters_then_digits":
        return _letters_then_digits(name, _DEFAULT_LETTERS, _DEFAULT_DIGITS)
    if name in _KEYS:
        raise RuleValueError(
            f"format {name!r} needs a count",
            f"write {{{name}: 6}} for exactly 6, or {{{name}: [4, 8]}} for 4 to 8",
        )
    close = [known for known in NAMED if _close(name, known)]
    hint = f"did you mean {close[0]}? " if close else ""
    raise RuleValueError(
        f"{name!r} is not a reference format",
        hint + "use postcode, nhs_number, ni_number, letters_then_digits, {digits: 6}, "
        "{letters: 2, digits: 6}, or a regular expression such as '[a-z]{2}[0-9]{6}'",
    )


def _counted(written: Mapping[Any, Any]) -> Reference:
    unknown = [str(key) for key in written if key not in _KEYS]
    if unknown:
        raise RuleValueError(
            f"unknown key {unknown[0]!r} in the reference format",
            "a format mapping takes digits, and optionally letters before them: "
            "{digits: 6} or {letters: 2, digits: 6}",
            (unknown[0],),
        )
    if "digits" not in written:
        raise RuleValueError(
            "a reference format with letters needs digits after them",
            "write e.g. {letters: 2, digits: 6} for AB123456",
        )
    digits = _count(written["digits"], "digits", MAX_DIGITS)
    shown = {key: written[key] for key in _KEYS if key in written}
    if "letters" not in written:
        low, high = digits
        return Reference(
            shown, "digits", f"{_how_many(digits)} digits", re.compile(f"[0-9]{{{low},{high}}}")
        )
    letters = _count(written["letters"], "letters", MAX_LETTERS)
    return _letters_then_digits(shown, letters, digits)


def _letters_then_digits(
    written: str | Mapping[str, Any], letters: tuple[int, int], digits: tuple[int, int]
) -> Reference:
    pattern = re.compile(
        f"[A-Z]{{{letters[0]},{letters[1]}}}[0-9]{{{digits[0]},{digits[1]}}}", re.IGNORECASE
    )
    description = f"{_how_many(letters)} letters then {_how_many(digits)} digits"
    return Reference(
        written, "letters_then_digits", description, pattern, _normal=lambda text: text.upper()
    )


def _count(value: object, key: str, most: int) -> tuple[int, int]:
    """`6` or `[4, 8]` as (low, high); a `RuleValueError` for anything else."""
    fix = f"write {key}: 6 for exactly 6, or {key}: [4, 8] for 4 to 8 (from 1 to {most})"
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    ):
        low, high = value
    else:
        raise RuleValueError(f"{key}: {value!r} is not a count", fix, (key,))
    if low < 1:
        raise RuleValueError(f"{key}: {low} would allow a reference with no {key}", fix, (key,))
    if high > most:
        raise RuleValueError(f"{key}: {high} is more than {most}", fix, (key,))
    if low > high:
        raise RuleValueError(
            f"{key}: [{low}, {high}] goes from more to fewer",
            f"put the smaller count first: [{high}, {low}]",
            (key,),
        )
    return low, high


def _how_many(count: tuple[int, int]) -> str:
    low, high = count
    return str(low) if low == high else f"{low} to {high}"


def _close(given: str, known: str) -> bool:
    return difflib.SequenceMatcher(None, given, known).ratio() >= 0.75


def _postcode(text: str) -> str:
    """'sw1a1aa' → 'SW1A 1AA': capitals, one space before the inward code."""
    compact = "".join(text.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}"


def _ni_number(text: str) -> str | None:
    """'qq 12 34 56 c' → 'QQ123456C' (as HMRC stores it), unless the prefix is never used."""
    compact = "".join(text.split()).upper()
    return None if compact[:2] in _NI_UNUSED else compact


def nhs_check_digit(first_nine: str) -> int | None:
    """The NHS number check digit of nine digits, or None when none exists (the sum gives 10).

    Modulus 11: weights 10 down to 2, 11 minus the remainder, 11 read as 0 (NHS Digital's
    "NHS number check digit" specification).
    """
    weights = range(10, 1, -1)
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, weights, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def _nhs_number(text: str) -> str | None:
    """Ten digits, spaces and hyphens removed, when the check digit is right; else None."""
    digits = "".join(char for char in text if char.isdigit())
    if len(digits) != 10 or nhs_check_digit(digits[:9]) != int(digits[9]):
        return None
    return digits


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `captures.reference`, for editors."""
    count = {
        "oneOf": [
            {"type": "integer", "minimum": 1},
            {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "minItems": 2,
                "maxItems": 2,
            },
        ]
    }
    return {
        "description": "What a reference number looks like: a regular expression matched in "
        "full against one word of the reply, case-insensitively (e.g. '[a-z]{2}[0-9]{6}'), or "
        "a named format: postcode (GB; given as 'SW1A 1AA'), nhs_number (GB; mod-11 check "
        "digit; given as 10 digits), ni_number (GB; a National Insurance number, given as "
        "'QQ123456C'), letters_then_digits (1-3 letters then 4-10 digits), "
        "{digits: 6} or {digits: [4, 8]}, {letters: 2, digits: 6}. A word that looks like a "
        "reference but fails sends the reply to review.",
        "oneOf": [
            {"enum": list(NAMED), "description": "A named format."},
            {
                "type": "string",
                "not": {"pattern": _NAME.pattern},
                "description": "A regular expression the reference matches in full.",
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["digits"],
                "properties": {
                    "digits": {**count, "description": "How many digits: 6, or [4, 8]."},
                    "letters": {
                        **count,
                        "description": "How many letters come before the digits: 2, or [1, 3].",
                    },
                },
            },
        ],
    }
