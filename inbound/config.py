"""All settings, read once from the environment (prefix `INBOUND_`) and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """inbound's configuration; every field is the environment variable `INBOUND_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="INBOUND_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///inbound.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or "
        "postgresql+asyncpg://user:pass@host/db.",
    )
    amqp_url: str = Field(
        "amqp://guest:guest@localhost:5672/",
        description="RabbitMQ URL (amqp:// or amqps://).",
    )
    amqp_namespace: str = Field(
        "inbound",
        description="Prefix for the exchange and queue names; lets several installs share a vhost.",
    )
    rules_dir: Path = Field(Path("rules"), description="Folder of service rule files (YAML).")
    host: str = Field("0.0.0.0", description="Address the HTTP server binds to.")  # noqa: S104
    port: int = Field(8080, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    public_url: str | None = Field(
        None,
        description="Base URL providers call (e.g. https://sms.example.gov.uk), used to check "
        "signatures behind a proxy. Unset: the URL of the request as it arrived.",
    )
    default_region: str = Field(
        "GB", description="Region for numbers sent to a number no service owns."
    )
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest webhook body accepted; larger is a 413."
    )
    publish_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for RabbitMQ to confirm a publish before failing the webhook.",
    )
    prefetch: int = Field(32, ge=1, description="Messages a worker holds unacknowledged at once.")
    delivery_limit: int = Field(
        5, ge=1, description="Deliveries of one message before it is dead-lettered to review."
    )
    multipart_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds to wait for the rest of a concatenated SMS before the parts that "
        "arrived go to review.",
    )
    log_format: str = Field("json", description="Log lines as `json` or `console`.")
    log_level: str = Field("INFO", description="Lowest log level written.")

    unverified_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Providers accepted with no authenticity check at all (comma-separated), for "
        "schemes that can't be verified; each is warned about at start. Avoid.",
    )

    # --- provider settings: Twilio and inbound's own generic webhook ---
    twilio_auth_token: SecretStr | None = Field(
        None, description="Twilio account auth token; enables /webhooks/twilio."
    )
    twilio_account_sid: str | None = Field(
        None, description="When set, Twilio webhooks for any other account are refused."
    )
    generic_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key for /webhooks/generic; enables it."
    )

    # --- provider settings: Vonage, AWS SNS, Plivo, Telnyx ---

    # --- provider settings: Sinch, MessageBird, Infobip, Bandwidth, MMG, Firetext ---

    @field_validator("unverified_providers", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        # Environment variables hold "a,b"; pydantic-settings would want JSON for a list.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        return value.upper()

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in {"json", "console"}:
            raise ValueError("must be 'json' or 'console'")
        return value


def describe() -> list[tuple[str, str, str]]:
    """Each setting as (environment variable, default, description), for help text."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "" if field.default is None else str(field.default)
        rows.append((f"INBOUND_{name.upper()}", default, field.description or ""))
    return rows
