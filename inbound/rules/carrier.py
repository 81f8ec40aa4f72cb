"""Carrier opt-out words: replies carriers treat as "stop messaging me", by region. Pure.

Where a region's carriers honour these words, inbound honours them too, before any service
rule: a reply that is exactly one of them opts the sender out.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# CTIA guidance, as US carriers and the big SMS providers apply it (Twilio's default list).
_US = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
# UK mobile networks honour STOP on shared and long numbers.
_GB = frozenset({"stop"})

# US territories share US carriers and the same rules.
OPT_OUT_WORDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"US": _US, "PR": _US, "VI": _US, "GU": _US, "AS": _US, "MP": _US, "GB": _GB}
)


def opt_out_words(region: str) -> frozenset[str]:
    """The normalised carrier opt-out words in force for numbers in `region` (may be empty)."""
    return OPT_OUT_WORDS.get(region, frozenset())
