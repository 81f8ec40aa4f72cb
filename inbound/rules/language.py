"""Which language a reply is answered in. Pure: no I/O.

A rule may give keywords and replies per language (`keywords: {en: [...], cy: [...]}`); a plain
list or string is in the service's default language (`service.language`, default `en`). The
person wrote in the language of the keyword that matched; with no keyword to tell (a carrier
opt-out word, no match at all), the service's default is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

DEFAULT_LANGUAGE = "en"
# ISO 639-1 codes (en, cy, ga, gd) and the three-letter ISO 639-2/3 ones for languages without
# one; lower case, as people write them in YAML.
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
# A typo in a keyword is forgiven from this many letters when a service's keywords are in more
# than one language. Shorter words of two languages are too often one letter apart ("help"
# and Welsh "helo", "iawn" and "lawn"): the typed word may well be a word of the other language.
TYPO_MIN_LETTERS_MULTILINGUAL = 6


def written_in(keyword_language: str | None, default: str) -> str:
    """The language the person wrote in: the matched keyword's, else the service's default."""
    return keyword_language if keyword_language is not None else default


def reply_language(written: str, available: Collection[str], default: str) -> str | None:
    """The language to answer in: the person's when the reply has it, else the service's
    default, else the first the reply has; None when it has none."""
    if written in available:
        return written
    if default in available:
        return default
    return next(iter(available), None)


# English names of the languages services are likeliest to write in; any other code shows as
# itself.
LANGUAGE_NAMES: Mapping[str, str] = {
    "en": "English",
    "cy": "Welsh",
    "ga": "Irish",
    "gd": "Scottish Gaelic",
    "kw": "Cornish",
    "gv": "Manx",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "pl": "Polish",
    "ro": "Romanian",
    "lt": "Lithuanian",
    "ar": "Arabic",
    "bn": "Bengali",
    "pa": "Punjabi",
    "ur": "Urdu",
    "so": "Somali",
    "zh": "Chinese",
}


def language_name(code: str) -> str:
    """'Welsh (cy)', as pages and messages name a language; an unknown code as itself."""
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code
