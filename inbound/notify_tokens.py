"""The bearer tokens GOV.UK Notify's callbacks carry: how the setting holding them is read.

Apart from the provider (`inbound.providers.notify`), so the settings can check them without
loading the receiver's code: `inbound rules check` and `inbound config` load none of it.
"""

from __future__ import annotations

# Notify's callback settings refuse a shorter bearer token (notifications-admin's form).
MIN_TOKEN_LENGTH = 10


def inbound_tokens(value: str) -> list[str]:
    """The bearer tokens of a setting: one, or two comma-separated during a rotation.

    A ValueError for a token Notify would refuse, raised at start-up (the settings error names
    the variable) so a typo stops the service instead of refusing every genuine callback.
    """
    tokens = [part.strip() for part in value.split(",") if part.strip()]
    if len(tokens) > 2:
        raise ValueError("at most two tokens, comma-separated: the old and the new while rotating")
    if any(len(token) < MIN_TOKEN_LENGTH for token in tokens):
        raise ValueError(
            f"a token is shorter than {MIN_TOKEN_LENGTH} characters, which Notify's callback "
            "settings refuse"
        )
    return tokens
