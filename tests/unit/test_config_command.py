"""`inbound config` never prints a secret: every setting that can hold text is set to a value
carrying a marker, and no marker may reach the output, unless the setting is listed below as not
secret (with the reason). The list of settings comes from the Settings model, so a new setting
that can hold a secret fails here until it is a SecretStr, a `*_url` (password masked), or
declared not secret."""

from __future__ import annotations

import types
import typing
from pathlib import Path

import pytest
from pydantic import SecretStr

from inbound import cli
from inbound.commands.config import masked_url, shown
from inbound.config import Settings

MARK = "LEAKED"

# Settings that hold text that is not secret, and why; each must exist.
NOT_SECRET = {
    "amqp_namespace": "a prefix for queue names",
    "rules_dir": "a folder",
    "host": "an address to bind",
    "default_region": "a region code",
    "sender": "a choice: log or notify",
    "notify_template_id": "a template's id",
    "log_format": "a choice: json or console",
    "log_level": "a level name",
    "unverified_providers": "provider names",
    "twilio_account_sid": "an account's id, sent in every Twilio webhook",
    "vonage_signature_method": "a choice of algorithm",
    "vonage_api_key": "Vonage's API key is the account's id (sent in webhooks as api-key); the "
    "secret is INBOUND_VONAGE_SIGNATURE_SECRET",
    "vonage_application_id": "an application's id",
    "sns_topic_arns": "topic names",
    "telnyx_public_key": "a public key",
    "telnyx_messaging_profile_id": "a profile's id",
    "test_fault": "a choice of test hook",
}


def holds_text(annotation: object) -> bool:
    """True when a setting of this type can hold arbitrary text."""
    if annotation in (str, SecretStr, Path):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return holds_text(typing.get_args(annotation)[0])
    return any(holds_text(arg) for arg in typing.get_args(annotation))


TEXT_SETTINGS = [
    name for name, field in Settings.model_fields.items() if holds_text(field.annotation)
]
CHECKED = [name for name in TEXT_SETTINGS if name not in NOT_SECRET]


def fernet_key(mark: str) -> str:
    """A well-formed Fernet key (44 url-safe base64 characters) whose text holds the mark."""
    return mark.replace("_", "")[:43].ljust(43, "A") + "="


# Settings whose values have a format a bare marker would fail: a valid value with the marker.
EXAMPLES = {
    "secret_key": lambda mark: f"{fernet_key(mark + 'one')},{fernet_key(mark + 'two')}",
    # One URL per RabbitMQ node: every one's password masked.
    "amqp_url": lambda mark: f"amqp://u:{mark}@h1:5672/vh?password={mark},amqps://u:{mark}@h2/vh",
}


def marked(name: str) -> str:
    """A value for the setting with a marker where its secret would be."""
    mark = f"{MARK}{name}"
    if name in EXAMPLES:
        return EXAMPLES[name](mark)
    if name.endswith("_url"):
        return f"scheme://user:{mark}@host:5432/db?password={mark}&sslmode=require"
    if "SecretStr" in str(Settings.model_fields[name].annotation):
        return f"{mark}-1,{mark}-2"  # a rotation: two values
    return mark


@pytest.fixture
def config_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """`inbound config` with every checked setting marked."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"INBOUND_{name.upper()}", raising=False)
    for name in CHECKED:
        monkeypatch.setenv(f"INBOUND_{name.upper()}", marked(name))
    status = cli.main(["config"])
    out, err = capsys.readouterr()
    assert status == 0, f"{err}(a setting with a format needs a marked value in EXAMPLES)"
    return out


def test_the_settings_declared_not_secret_exist() -> None:
    assert set(NOT_SECRET) <= set(TEXT_SETTINGS)


def test_the_secrets_checked_include_every_password_and_token_setting() -> None:
    # The walk over the model really finds them (not a list kept by hand).
    assert {"database_url", "amqp_url", "public_url", "notify_base_url"} <= set(CHECKED)
    assert {"notify_api_key", "plivo_auth_token", "generic_secret", "sinch_basic_auth"} <= set(
        CHECKED
    )


def test_no_secret_setting_is_printed(config_output: str) -> None:
    leaked = [line for line in config_output.splitlines() if MARK in line]
    assert leaked == [], (
        "these settings print a secret: make them SecretStr, name a URL `*_url`, or add them "
        "to NOT_SECRET with the reason"
    )


def test_every_setting_is_still_listed_and_urls_stay_readable(config_output: str) -> None:
    lines = config_output.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        f"INBOUND_{name.upper()}" for name in Settings.model_fields
    ]
    assert (
        "INBOUND_DATABASE_URL=scheme://user:***@host:5432/db?password=***&sslmode=require" in lines
    )
    assert "INBOUND_PLIVO_AUTH_TOKEN=********** (2 values)" in lines


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+asyncpg://inbound:s3cret@db.internal:5432/inbound",
            "postgresql+asyncpg://inbound:***@db.internal:5432/inbound",
        ),
        ("amqp://guest:guest@localhost:5672/", "amqp://guest:***@localhost:5672/"),
        ("amqps://user:p%40ss@mq:5671/vhost", "amqps://user:***@mq:5671/vhost"),
        ("amqp://user:pa@ss@mq/", "amqp://user:***@mq/"),  # an unescaped @ in the password
        ("sqlite+aiosqlite:///inbound.db", "sqlite+aiosqlite:///inbound.db"),
        ("https://sms.example.gov.uk", "https://sms.example.gov.uk"),
        (
            "postgresql://u@/db?host=/run/pg&sslpassword=x&PASSWORD=y&api_key=z",
            "postgresql://u@/db?host=/run/pg&sslpassword=***&PASSWORD=***&api_key=***",
        ),
        ("http://[::1:5432/", "********** (not a URL, so hidden)"),
    ],
)
def test_urls_lose_their_passwords_and_nothing_else(url: str, expected: str) -> None:
    assert masked_url(url) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("generic_secret", SecretStr("one"), "**********"),
        ("generic_secret", SecretStr("old, new"), "********** (2 values)"),
        ("retry_delays", [5.0, 30.0], "5.0,30.0"),
        ("notify_api_key", None, ""),
        ("port", 8080, "8080"),
    ],
)
def test_values_print_as_the_environment_would_hold_them(
    name: str, value: object, expected: str
) -> None:
    assert shown(name, value) == expected


def test_holds_text_reads_optional_list_and_annotated_types() -> None:
    assert holds_text(str | None)
    assert holds_text(typing.Annotated[list[str], "x"])
    assert not holds_text(int | None)
    assert not holds_text(types.NoneType)
