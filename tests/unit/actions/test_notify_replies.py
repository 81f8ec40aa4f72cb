"""Replies through GOV.UK Notify, the pure parts: Notify's refusal kept in its words, the
account a service's replies use, and the bucket that keeps them under Notify's rate limit."""

from __future__ import annotations

import json
import uuid

import pytest

from inbound.actions.attempts import MAX_REASON, notify_reason
from inbound.actions.notify_account import Defaults, NoNotifyAccount, NotifyAccount, account
from inbound.actions.notify_rate import Bucket, burst
from inbound.rules.model import Notify

GLOBAL_KEY = f"global-{uuid.UUID(int=1)}-{uuid.UUID(int=2)}"
OWN_KEY = f"own-{uuid.UUID(int=3)}-{uuid.UUID(int=4)}"
GLOBAL_TEMPLATE = str(uuid.UUID(int=5))
OWN_TEMPLATE = str(uuid.UUID(int=6))
SENDER = str(uuid.UUID(int=7))
ENV = {"APPT_NOTIFY_KEY": OWN_KEY}


def notify_error(status: int, *messages: str) -> bytes:
    errors = [{"error": "BadRequestError", "message": m} for m in messages]
    return json.dumps({"status_code": status, "errors": errors}).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            notify_error(400, "Can’t send to this recipient using a team-only API key"),
            "Notify answered HTTP 400: Can’t send to this recipient using a team-only API key",
        ),
        (
            400,
            notify_error(400, "phone_number is a required property", "template_id is bad"),
            "Notify answered HTTP 400: phone_number is a required property; template_id is bad",
        ),
        # A number in Notify's words is masked, as in any reason kept on a row.
        (
            400,
            notify_error(400, "Can't send to +447700900123\nat all"),
            "Notify answered HTTP 400: Can't send to [number] at all",
        ),
        (502, b"<html>Bad gateway</html>", "Notify answered HTTP 502"),
        (500, b'{"errors": "not a list"}', "Notify answered HTTP 500"),
        (500, b"[1, 2]", "Notify answered HTTP 500"),
        (503, b"", "Notify answered HTTP 503"),
    ],
)  # fmt: skip
def test_notifys_refusal_is_kept_in_its_own_words(status: int, body: bytes, expected: str) -> None:
    assert notify_reason(status, body) == expected


def test_a_long_refusal_is_cut_to_one_short_line() -> None:
    reason = notify_reason(400, notify_error(400, "word " * 200))
    assert len(reason) == MAX_REASON
    assert reason.endswith("…")


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        (None, NotifyAccount(GLOBAL_KEY, GLOBAL_TEMPLATE)),
        (Notify(), NotifyAccount(GLOBAL_KEY, GLOBAL_TEMPLATE)),
        # The global key, sent from the service's own number.
        (Notify(sms_sender_id=SENDER), NotifyAccount(GLOBAL_KEY, GLOBAL_TEMPLATE, SENDER)),
        # Its own key overrides the global one (and its own template, where it has one).
        (
            Notify(api_key_env="APPT_NOTIFY_KEY", sms_sender_id=SENDER, template_id=OWN_TEMPLATE),
            NotifyAccount(OWN_KEY, OWN_TEMPLATE, SENDER, "APPT_NOTIFY_KEY"),
        ),
        (
            Notify(api_key_env="APPT_NOTIFY_KEY"),
            NotifyAccount(OWN_KEY, GLOBAL_TEMPLATE, None, "APPT_NOTIFY_KEY"),
        ),
    ],
)
def test_a_services_own_notify_block_overrides_the_global_settings(
    notify: Notify | None, expected: NotifyAccount
) -> None:
    assert account(notify, Defaults(GLOBAL_KEY, GLOBAL_TEMPLATE), ENV.get) == expected


@pytest.mark.parametrize(
    ("notify", "defaults", "says"),
    [
        # Its own key is named but not set: never the global key instead (another service's).
        (Notify(api_key_env="UNSET"), Defaults(GLOBAL_KEY, GLOBAL_TEMPLATE), "UNSET is not set"),
        (None, Defaults(None, GLOBAL_TEMPLATE), "set INBOUND_NOTIFY_API_KEY"),
        (Notify(api_key_env="APPT_NOTIFY_KEY"), Defaults(None, None), "INBOUND_NOTIFY_TEMPLATE_ID"),
    ],
)  # fmt: skip
def test_a_missing_key_or_template_is_said_in_words(
    notify: Notify | None, defaults: Defaults, says: str
) -> None:
    with pytest.raises(NoNotifyAccount, match=says):
        account(notify, defaults, ENV.get)


@pytest.mark.parametrize(("per_minute", "expected"), [(3000, 1001), (60, 21), (9000, 1001)])
def test_the_burst_is_notifys(per_minute: int, expected: int) -> None:
    assert burst(per_minute) == expected


def test_the_bucket_lets_a_burst_through_then_paces_at_notifys_refill_rate() -> None:
    bucket = Bucket(per_minute=60)  # 21 at once, then one a second
    for _ in range(21):
        assert bucket.wait(100.0) == 0
        bucket.take(100.0)
    assert bucket.wait(100.0) == pytest.approx(1.0)
    bucket.take(100.0)  # reserved: the next waits behind it
    assert bucket.wait(100.0) == pytest.approx(2.0)
    assert bucket.wait(102.0) == 0


def test_a_429_empties_the_bucket() -> None:
    bucket = Bucket(per_minute=3000)
    bucket.take(10.0)
    bucket.refused(10.0)
    assert bucket.wait(10.0) == pytest.approx(1 / 50)
    assert bucket.wait(10.03) == 0
