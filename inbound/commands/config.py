"""`inbound config`: the settings in force, or the reference of every setting.

What it prints is safe to paste into a ticket: secret settings (SecretStr, one value or a
rotation's comma-separated pair) are hidden, and a URL's password and secret-looking query
values are masked (`INBOUND_DATABASE_URL`, `INBOUND_AMQP_URL` and every other `*_url`). A test
over the Settings model (tests/unit/test_config_command.py) fails for any new setting that
can hold text and is neither of those nor declared not secret.
"""

from __future__ import annotations

import argparse
import re
import urllib.parse

from inbound.commands.context import Subcommands, add_command, load_settings

HIDDEN = "**********"
MASK = "***"
# Query parameters that carry credentials in database and broker URLs (password, sslpassword,
# auth tokens, API keys, signatures).
SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|auth|cred|sig", re.IGNORECASE)


def masked_url(url: str) -> str:
    """The URL with the password in its user info and any secret-looking query value masked."""
    try:
        parts = urllib.parse.urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return f"{HIDDEN} (not a URL, so hidden)"
    # Edited in place rather than rebuilt: urlunsplit drops the `//` of `sqlite:///file.db`.
    # The user info ends at the first `/`, `?` or `#`, and the query starts at the first `?`.
    masked = url
    if has_password:
        userinfo, _, host = parts.netloc.rpartition("@")
        masked = masked.replace(parts.netloc, f"{userinfo.split(':', 1)[0]}:{MASK}@{host}", 1)
    if parts.query:
        query = "&".join(_masked_parameter(pair) for pair in parts.query.split("&"))
        masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
    return masked


def _masked_parameter(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    if equals and SECRET_PARAMETER.search(urllib.parse.unquote_plus(name)):
        return f"{name}={MASK}"
    return pair


def shown(name: str, value: object) -> str:
    """How `inbound config` prints one setting's value."""
    from pydantic import SecretStr

    if value is None:
        return ""
    if isinstance(value, SecretStr):
        count = sum(1 for part in value.get_secret_value().split(",") if part.strip())
        return HIDDEN if count <= 1 else f"{HIDDEN} ({count} values)"
    if isinstance(value, list):  # as the environment variable holds it: comma-separated
        return ",".join(shown(name, item) for item in value)
    if isinstance(value, str) and name.endswith("_url"):
        from inbound.config import amqp_urls

        # INBOUND_AMQP_URL may list a URL per node, comma-separated: each is masked.
        return ",".join(masked_url(url) for url in amqp_urls(value)) if value else value
    return str(value)


def _command(args: argparse.Namespace) -> int:
    from inbound.config import Settings, reference

    if args.reference:
        print(reference())
        return 0
    settings = load_settings()
    for name in Settings.model_fields:
        print(f"INBOUND_{name.upper()}={shown(name, getattr(settings, name))}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `config` to the top-level parser."""
    text = "Print the settings in force (secrets hidden), or every setting with --reference."
    details = "Passwords in URLs are masked too, so the output can be shared."
    config = add_command(commands, "config", text, details=details)
    config.add_argument(
        "--reference",
        action="store_true",
        help="print every setting as a Markdown table (docs/configuration.md is this output)",
    )
    config.set_defaults(handler=_command)
