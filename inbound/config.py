"""All settings, read once from the environment (prefix `INBOUND_`) and passed down."""

from __future__ import annotations

import re
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from inbound.forwarded import networks
from inbound.notify_tokens import inbound_tokens
from inbound.providers.public_keys import public_keys
from inbound.secret_keys import split_keys

# A comma that starts another URL (`,amqp://…`): a comma inside a password stays where it is.
_NEXT_URL = re.compile(r"\s*,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def amqp_urls(value: str) -> list[str]:
    """The URLs in INBOUND_AMQP_URL: one, or every node of a cluster, comma-separated."""
    return [part for part in (p.strip() for p in _NEXT_URL.split(value.strip())) if part]


class Settings(BaseSettings):
    """inbound's configuration; every field is the environment variable `INBOUND_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="INBOUND_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///inbound.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or "
        "postgresql+asyncpg://user:pass@host/db. A relative SQLite path is relative to the "
        "folder inbound runs in; only `inbound migrate` creates the file.",
    )
    amqp_url: str = Field(
        "amqp://guest:guest@localhost:5672/",
        description="RabbitMQ URL (amqp:// or amqps://), or one per node of a cluster, "
        "comma-separated (amqp://u:p@rabbit-1:5672/vh,amqp://u:p@rabbit-2:5672/vh): each "
        "connection attempt, at start and on every reconnect, goes to the next in turn.",
    )
    amqp_namespace: str = Field(
        "inbound",
        description="Prefix for the exchange and queue names; lets several installs share a vhost.",
    )
    rules_dir: Path = Field(Path("rules"), description="Folder of service rule files (YAML).")
    host: str = Field("0.0.0.0", description="Address the HTTP server binds to.")  # noqa: S104
    port: int = Field(8080, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    admin_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Serve the staff pages (/review), /api, /metrics and /openapi.json on this "
        "port instead of INBOUND_PORT, so the port providers reach answers only /webhooks/*, "
        "/healthz and /readyz. Bind it where only staff reach it. Unset: one port for all.",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="In a process without the receiver (`inbound worker`), serve /healthz, "
        "/readyz and /metrics on this port; with `serve --webhooks-only`, /metrics (and the "
        "health checks) here, away from the webhooks. Unset: no such listener.",
    )
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
    connect_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds one connection attempt to a RabbitMQ node may take to finish the "
        "handshake (at start and on every reconnect). An unreachable RabbitMQ is waited for, "
        "never a reason to exit: `serve` spools webhooks meanwhile, workers start consuming "
        "once it answers. A refused login or virtual host stops start-up with the reason.",
    )
    publish_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for RabbitMQ to confirm a publish (workers, the spool relay); "
        "webhooks wait INBOUND_SPOOL_AFTER at most, then spool.",
    )
    prefetch: int = Field(
        128,
        ge=1,
        description="The largest batch of messages the rules worker writes in one transaction; "
        "it holds up to four times as many unacknowledged, so that it can take each service's "
        "messages in turn.",
    )
    delivery_limit: int = Field(
        5, ge=1, description="Deliveries of one message before it is dead-lettered to review."
    )
    multipart_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds to wait for the rest of a concatenated SMS before the parts that "
        "arrived go to review.",
    )
    callback_timeout: float = Field(
        10.0, gt=0, description="Seconds a service's callback may take to answer."
    )
    callback_max_attempts: int = Field(
        8, ge=1, description="Attempts at a callback or reply before it goes to review."
    )
    callback_max_age: float = Field(
        86_400.0,
        gt=0,
        description="Seconds after the first attempt when retrying stops and it goes to review.",
    )
    callbacks: bool = Field(
        True,
        description="Send each outcome to its service's callback URL. `off` (what `make run` "
        "sets) records callbacks as suppressed, not sent: the example rules' `*.example` hosts "
        "don't exist, and a local run then retries nothing. Leave on in production.",
    )
    retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0],
        description="Seconds between attempts, comma-separated; the last repeats.",
    )
    reply_cap_per_hour: int = Field(
        3,
        ge=0,
        description="Auto-replies one number may get from one service in an hour; more are "
        "suppressed, which stops reply loops with auto-responders.",
    )
    sender: str = Field(
        "log", description="How auto-replies are sent: `log` (local runs) or `notify`."
    )
    notify_base_url: str = Field(
        "https://api.notifications.service.gov.uk", description="GOV.UK Notify API base URL."
    )
    notify_api_key: SecretStr | None = Field(
        None,
        description="GOV.UK Notify API key replies are sent with, for every service whose rule "
        "file names no key of its own (`service.notify.api_key_env`, which overrides it).",
    )
    notify_template_id: str | None = Field(
        None,
        description="Notify template whose whole body is ((body)); replies fill it in. A "
        "service with its own key names its own (`service.notify.template_id`).",
    )
    notify_poll_every: float = Field(
        300.0,
        ge=0,
        description="Seconds between polls of GOV.UK Notify's received texts, for every "
        "service whose rule file names a Notify API key (`service.notify.api_key_env`): texts "
        "no callback brought are published as if it had (docs/notify.md). One process polls "
        "a service at a time, however many run. 0 turns polling off.",
    )
    log_format: str = Field("json", description="Log lines as `json` or `console`.")
    log_level: str = Field(
        "INFO",
        description="Lowest log level written. At `INFO` each message gets one line, the "
        "worker's `message_processed` (refused webhooks and failures have their own); `DEBUG` "
        "adds the receiver's `webhook_accepted` for every webhook, with its request id, at about "
        "a tenth of the receiver's CPU.",
    )

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
    vonage_signature_secret: SecretStr | None = Field(
        None,
        description="Vonage signature secret (Dashboard, API settings); enables /webhooks/vonage "
        "(signed SMS API webhooks) and /webhooks/vonage-messages (Messages API JWTs). Two "
        "comma-separated during a rotation.",
    )
    vonage_signature_method: str = Field(
        "md5hash",
        description="How Vonage signs SMS API webhooks, as chosen in the Dashboard: md5hash "
        "(Vonage's default), or the HMACs md5, sha1, sha256, sha512. (Messages API JWTs are "
        "always HS256.)",
    )
    vonage_api_key: str | None = Field(
        None,
        description="When set, Vonage webhooks for any other API key (SMS API `api-key`, "
        "Messages API JWT claim `api_key`) are refused.",
    )
    vonage_application_id: str | None = Field(
        None,
        description="When set, Vonage Messages API webhooks whose JWT names another "
        "application (claim `application_id`) are refused.",
    )
    sns_topic_arns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="ARNs of the SNS topics AWS End User Messaging publishes two-way SMS to "
        "(comma-separated); enables /webhooks/sns. Other topics are refused and never "
        "subscribed to.",
    )
    plivo_auth_token: SecretStr | None = Field(
        None,
        description="Plivo auth token (of the account or subaccount owning the number); enables "
        "/webhooks/plivo. Two comma-separated during a rotation.",
    )
    plivo_allow_v2_only: bool = Field(
        False,
        description="Accept Plivo webhooks that carry only the V2 signature, which covers the "
        "URL and a nonce but not the message: each V2 nonce is then accepted once (kept in "
        "the database). Off: a Plivo webhook without X-Plivo-Signature-V3 is refused.",
    )
    telnyx_public_key: str | None = Field(
        None,
        description="Telnyx public key (Mission Control, Keys & Credentials; base64); enables "
        "/webhooks/telnyx. Two comma-separated during a rotation.",
    )
    telnyx_messaging_profile_id: str | None = Field(
        None,
        description="When set, Telnyx webhooks for any other messaging profile are refused.",
    )

    @field_validator("amqp_url")
    @classmethod
    def _amqp_urls(cls, value: str) -> str:
        urls = amqp_urls(value)
        if not urls:
            raise ValueError("needs at least one amqp:// or amqps:// URL")
        for url in urls:
            if not url.lower().startswith(("amqp://", "amqps://")):
                shown = url.split("://", 1)[0] + "://…" if "://" in url else "a value"
                raise ValueError(f"{shown} is not an amqp:// or amqps:// URL")
        return value

    @field_validator("vonage_signature_method")
    @classmethod
    def _vonage_method(cls, value: str) -> str:
        method = value.strip().lower()
        if method not in {"md5hash", "md5", "sha1", "sha256", "sha512"}:
            raise ValueError("must be one of md5hash, md5, sha1, sha256, sha512")
        return method

    @field_validator("sns_topic_arns", mode="before")
    @classmethod
    def _topic_list(cls, value: object) -> object:
        # Environment variables hold "a,b"; pydantic-settings would want JSON for a list.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("notify_inbound_tokens")
    @classmethod
    def _notify_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        # A token Notify would refuse (or a third one) stops start-up with the reason.
        if value is None or not value.get_secret_value().strip():
            return None
        inbound_tokens(value.get_secret_value())
        return value

    @field_validator("telnyx_public_key")
    @classmethod
    def _telnyx_keys(cls, value: str | None) -> str | None:
        # A key that can't be used should stop start-up, not fail every webhook afterwards.
        if value is None or not value.strip():
            return None  # an empty variable leaves Telnyx off
        public_keys(value)
        return value

    # --- provider settings: Sinch, MessageBird, Infobip, Bandwidth, MMG, Firetext, Notify ---
    # Basic-auth settings are `user:password`, or two pairs comma-separated during a rotation.
    sinch_webhook_secret: SecretStr | None = Field(
        None,
        description="Sinch callback HMAC secret (x-sinch-webhook-signature); enables "
        "/webhooks/sinch. Two comma-separated during a rotation.",
    )
    sinch_basic_auth: SecretStr | None = Field(
        None,
        description="user:password Sinch sends on callbacks; enables /webhooks/sinch. With the "
        "HMAC secret also set, both are required.",
    )
    messagebird_signing_key: SecretStr | None = Field(
        None,
        description="MessageBird signing key for MessageBird-Signature-JWT; enables "
        "/webhooks/messagebird. Two comma-separated during a rotation.",
    )
    infobip_basic_auth: SecretStr | None = Field(
        None,
        description="user:password of the Infobip webhook's BASIC security setting; enables "
        "/webhooks/infobip (or list infobip in INBOUND_UNVERIFIED_PROVIDERS).",
    )
    bandwidth_basic_auth: SecretStr | None = Field(
        None,
        description="user:password of the Bandwidth messaging application's callback "
        "credentials; enables /webhooks/bandwidth.",
    )
    mmg_basic_auth: SecretStr | None = Field(
        None, description="user:password agreed with MMG; enables /webhooks/mmg."
    )
    firetext_basic_auth: SecretStr | None = Field(
        None, description="user:password agreed with Firetext; enables /webhooks/firetext."
    )
    notify_inbound_tokens: SecretStr | None = Field(
        None,
        description="Bearer token typed into GOV.UK Notify's received-text callback settings "
        "(at least 10 characters, as Notify requires); enables /webhooks/notify. Two "
        "comma-separated during a rotation. A service may have its own instead "
        "(`service.notify.inbound_token_env` in its rule file).",
    )

    # --- reliability: spool, shutdown, retention ---
    spool_after: float = Field(
        3.0,
        gt=0,
        le=6,
        description="Seconds a webhook waits for RabbitMQ's confirm before the message is written "
        "to the database spool instead (relayed later); the spool write may take the rest of 12 s, "
        "so a webhook is answered well within the ~15 s after which Twilio gives up for good.",
    )
    shutdown_timeout: float = Field(
        20.0,
        gt=0,
        description="Seconds a stopping process (SIGTERM) has in all: in-flight webhooks and "
        "messages get what is left to finish, each close of a channel, connection or pool at "
        "most 5 s of it, whatever RabbitMQ and the database do; unfinished messages go back to "
        "RabbitMQ unacknowledged.",
    )
    purge_interval: float = Field(
        3600.0,
        gt=0,
        description="Seconds between the worker's purges of message content (text, captures, "
        "finished actions' payloads) past each service's retention (`retention_days` in its "
        "rule file).",
    )
    test_fault: str | None = Field(
        None,
        description="Test hook, off by default: `crash-before-commit` or `crash-after-commit` "
        "makes the rules worker SIGKILL itself at that point on its first message. Never set it "
        "in production.",
    )

    # --- review queue (caseworkers' web pages and /api/) ---
    cookie_secure: bool = Field(
        True,
        description="Mark the review queue's cookies Secure (HTTPS only). Set false only for "
        "plain-HTTP local runs and tests.",
    )
    hsts: bool | None = Field(
        None,
        description="Send Strict-Transport-Security (one year) on every answer, so browsers "
        "reach this host over HTTPS only. Unset: on when INBOUND_PUBLIC_URL starts with "
        "https://. Browsers honour it only over HTTPS; see docs/operations.md for the proxy.",
    )
    session_idle_minutes: float = Field(
        30.0, gt=0, description="Minutes without a request after which a sign-in ends."
    )
    session_max_hours: float = Field(
        12.0, gt=0, description="Hours after which a sign-in ends however active it is."
    )
    sign_in_limit: int = Field(
        5,
        ge=1,
        description="Failed sign-ins an account may have (since its last sign-in, within a day) "
        "before each further try must wait: 30 s, doubling with each failure up to 15 min. From "
        "one address, four times as many different accounts (within an hour). Never a lock.",
    )
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="Proxies (IP addresses or CIDR ranges, comma-separated) whose "
        "X-Forwarded-For is believed: behind them the client's address, for sign-in throttling "
        "and the audit log, is the hop they appended. Unset: the header is never read.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key(s) sealing two-factor keys in the database; comma-separated "
        "during a rotation: the first seals, any opens (each stored key is re-sealed with the "
        "first at start-up and sign-in). Unset: a SQLite install makes one in a file beside the "
        "database (<file>.secret-key, 0600); other databases must set it to serve /review.",
    )
    claim_release_after: float = Field(
        15.0,
        gt=0,
        description="Minutes a claimed review item may go untouched (no claim, reply, note or "
        "decision checked by its holder) before it is released back to the queue, where it is "
        "tagged 'released: not touched' until someone claims it. Checked whenever the queue is "
        "shown or the item is acted on; each release is audited.",
    )
    caseworker_reply_cap_per_hour: int = Field(
        5,
        ge=0,
        description="Texts a caseworker may send one number in an hour, counting the service's "
        "automatic replies to it in that hour; further replies are refused with the time the "
        "next may go. 0 turns caseworkers' replies off.",
    )

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _delays(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("retry_delays")
    @classmethod
    def _positive_delays(cls, value: list[float]) -> list[float]:
        if not value or any(delay <= 0 for delay in value):
            raise ValueError("give one or more positive numbers of seconds, e.g. 5,30,120")
        return value

    @field_validator("sender")
    @classmethod
    def _known_sender(cls, value: str) -> str:
        if value not in {"log", "notify"}:
            raise ValueError("must be 'log' or 'notify'")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            return networks(value)
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        # A key that can't be used should stop start-up with the reason, not fail sign-ins.
        if value is None or not value.get_secret_value().strip():
            return None
        split_keys(value.get_secret_value())
        return value

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


def reference() -> str:
    """Every setting as a Markdown table: the configuration reference in the docs."""
    lines = [
        "# Configuration reference",
        "",
        "Every setting is an environment variable. Generated by `inbound config --reference`;",
        "secrets marked (secret) are never printed by `inbound config`.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    lines.extend(_reference_row(name, field) for name, field in Settings.model_fields.items())
    return "\n".join(lines)


def _reference_row(name: str, field: FieldInfo) -> str:
    # A required field has no default to show (its `default` is PydanticUndefined), and a list's
    # default comes from a factory.
    if field.is_required():
        shown = "(required)"
    else:
        default = field.get_default(call_default_factory=True)
        if isinstance(default, list):
            default = ",".join(str(item) for item in default)
        shown = "" if default is None else f"`{default}`"
    secret = " (secret)" if "SecretStr" in str(field.annotation) else ""
    text = (field.description or "").replace("|", "\\|")
    return f"| `INBOUND_{name.upper()}` | {shown} | {text}{secret} |"
