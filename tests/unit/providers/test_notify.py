"""GOV.UK Notify's received-text callback, and the one function the backfill poller shares."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from inbound.config import Settings
from inbound.providers.base import (
    NoServiceSecrets,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
    WebhookRequest,
)
from inbound.providers.notify import SPEC, Notify, TokenMissing, inbound_tokens, received_text

NOTIFY_ID = "bfd4a5c2-0f1e-4f6c-9b1a-4a4b3f3f3f3f"


def test_received_text_keeps_notifys_id_and_writes_numbers_in_e164() -> None:
    parsed = received_text(
        NOTIFY_ID, "447700900123", "07700900456", "Yes please", "2026-07-14T12:15:30.000000Z"
    )
    assert parsed.provider_message_id == NOTIFY_ID
    assert parsed.sender == "+447700900123"
    assert parsed.recipient == "+447700900456"
    assert parsed.text == "Yes please"
    # UTC as Notify writes it: July is summer time in London, and nothing is taken off.
    assert parsed.received_at == datetime(2026, 7, 14, 12, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("date_received", "expected"),
    [
        ("2026-01-02T03:04:05.123456Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2026-07-02T03:04:05.000000Z", datetime(2026, 7, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-07-02T03:04:05", datetime(2026, 7, 2, 3, 4, 5, tzinfo=UTC)),  # naive is UTC
        ("2026-07-02T04:04:05+01:00", datetime(2026, 7, 2, 3, 4, 5, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_date_received_is_read_as_utc(date_received: str | None, expected: datetime | None) -> None:
    parsed = received_text(NOTIFY_ID, "447700900123", "07700900456", "hi", date_received)
    assert parsed.received_at == expected


@pytest.mark.parametrize(
    ("source", "destination", "region", "sender", "recipient"),
    [
        ("447700900123", "07700900456", "GB", "+447700900123", "+447700900456"),
        ("+447700900123", "07700900456", "GB", "+447700900123", "+447700900456"),
        ("353851234567", "07700900456", "GB", "+353851234567", "+447700900456"),  # Irish phone
        ("447797123456", "07797900456", "JE", "+447797123456", "+447797900456"),  # Jersey service
        ("not a number", "07700900456", "GB", "not a number", "+447700900456"),  # kept as given
    ],
)
def test_numbers_are_read_as_notify_writes_them(
    source: str, destination: str, region: str, sender: str, recipient: str
) -> None:
    parsed = received_text(NOTIFY_ID, source, destination, "hi", None, region=region)
    assert (parsed.sender, parsed.recipient) == (sender, recipient)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (("", "447700900123", "07700900456", "hi", None), "id"),
        ((NOTIFY_ID, " ", "07700900456", "hi", None), "source_number"),
        ((NOTIFY_ID, "447700900123", "", "hi", None), "destination_number"),
        ((NOTIFY_ID, "447700900123", "07700900456", "hi", "yesterday"), "date_received"),
    ],
)
def test_an_unusable_value_is_refused_naming_notifys_field(
    fields: tuple[str, str, str, str, str | None], field: str
) -> None:
    with pytest.raises(PayloadInvalid) as refused:
        received_text(*fields)
    assert refused.value.field == field


PLATFORM = "platform-token-0001"
LIBRARY = "library-token-0001"
LIBRARY_NUMBER = "+447700900111"


class Secrets:
    """ServiceSecrets for tests: the library service's own token, for its number only."""

    def for_number(self, provider: str, number: str) -> Sequence[str]:
        return [LIBRARY, "short"] if (provider, number) == ("notify", LIBRARY_NUMBER) else []

    def named(self, provider: str) -> bool:
        return provider == "notify"


def callback(token: str | None, destination: str = "07700900111", **change: Any) -> WebhookRequest:
    payload = {
        "id": NOTIFY_ID,
        "source_number": "447700900123",
        "destination_number": destination,
        "message": "RENEW",
        "date_received": "2026-07-14T12:15:30.000000Z",
        **change,
    }
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return WebhookRequest(
        "POST", "https://sms.example/webhooks/notify", headers, json.dumps(payload).encode()
    )


@pytest.mark.parametrize(
    ("request_", "refused"),
    [
        (callback(PLATFORM), None),
        (callback(PLATFORM, destination="07700900999"), None),  # unknown number: still kept
        (callback(LIBRARY), None),  # the library's own token, for its number
        (callback(LIBRARY, destination="447700900111"), None),  # the same number written 44…
        (callback(LIBRARY, destination="07700900000"), SignatureInvalid),  # another service's
        (callback("short"), SignatureInvalid),  # too short to be one Notify would send
        (callback(LIBRARY, destination=None), SignatureInvalid),  # no number to own it
        (callback(None), SignatureMissing),
        (callback(""), SignatureMissing),
    ],
)
async def test_a_platform_token_serves_every_number_a_services_token_its_own(
    request_: WebhookRequest, refused: type[Exception] | None
) -> None:
    provider = Notify([PLATFORM], Secrets())
    if refused is None:
        await provider.verify(request_)
    else:
        with pytest.raises(refused) as error:
            await provider.verify(request_)
        assert getattr(error.value, "field", None) == "Authorization"


async def test_a_missing_token_is_challenged() -> None:
    with pytest.raises(TokenMissing) as missing:
        await Notify([PLATFORM], Secrets()).verify(callback(None))
    assert missing.value.status == 401
    assert missing.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_parse_reads_the_callback_with_received_text() -> None:
    [parsed] = Notify([PLATFORM], Secrets()).parse(callback(PLATFORM))
    assert parsed == received_text(
        NOTIFY_ID, "447700900123", "07700900111", "RENEW", "2026-07-14T12:15:30.000000Z"
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0123456789", True),
        ("0123456789, abcdefghij", True),  # two during a rotation
        ("012345678", False),  # Notify's callback settings refuse under 10 characters
        ("0123456789,abcdefghij,ABCDEFGHIJ", False),
    ],
)
def test_tokens_are_those_notify_would_accept(value: str, ok: bool) -> None:
    if ok:
        assert len(inbound_tokens(value)) == value.count(",") + 1
        assert Settings(notify_inbound_tokens=SecretStr(value)).notify_inbound_tokens is not None
    else:
        with pytest.raises(ValueError, match=r"characters|at most two"):
            inbound_tokens(value)
        with pytest.raises(ValidationError, match="notify_inbound_tokens"):
            Settings(notify_inbound_tokens=SecretStr(value))


def test_enabled_by_the_setting_or_by_a_services_own_token() -> None:
    assert SPEC.build(Settings()) is None
    assert SPEC.build(Settings(notify_inbound_tokens=SecretStr(PLATFORM))) is not None
    assert SPEC.build_with_services is not None
    assert SPEC.build_with_services(Settings(), Secrets()) is not None
    assert SPEC.build_with_services(Settings(), NoServiceSecrets()) is None
