"""The callback event a service receives, and the headers that come with it (docs/callbacks.md).

The signature is checked against HMAC computed another way (cryptography's HMAC, a fixed vector
from `openssl dgst -sha256 -hmac`, and the ten-line receiver in the docs), not by calling the
code under test twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from inbound.actions.event import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    headers,
    outcome_event,
    signature,
)
from inbound.prompts.model import Prompt
from inbound.rules.model import Action

SECRET = "test-callback-secret"
RECEIVED = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
DECIDED = datetime(2026, 11, 28, 9, 15, 1, tzinfo=UTC)
T = int(RECEIVED.timestamp())  # 1795857300


def event(**changes: Any) -> dict[str, Any]:
    """The documented example event, with `changes` to the arguments."""
    arguments: dict[str, Any] = {
        "event_id": "appointments:42:callback:confirm",
        "service_id": "appointments",
        "action": "confirm",
        "captures": {},
        "sender": "+447700900123",
        "provider": "twilio",
        "provider_message_id": "SM123",
        "received_at": RECEIVED,
        "decided_at": DECIDED,
        "rule": "confirm",
    }
    return outcome_event(**(arguments | changes))


def independent_hmac(secret: str, timestamp: int, body: bytes) -> str:
    mac = crypto_hmac.HMAC(secret.encode("utf-8"), hashes.SHA256())
    mac.update(str(timestamp).encode() + b"." + body)
    return mac.finalize().hex()


def documented_receiver_accepts(secret: bytes, sent: Mapping[str, str], body: bytes) -> bool:
    """The signature check of the receiver in docs/callbacks.md, less its clock check."""
    sig = dict(p.split("=", 1) for p in sent["X-Inbound-Signature"].split(","))
    mac = hmac.new(secret, sig["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, sig["v1"])


def test_the_event_has_the_documented_fields() -> None:
    assert event() == {
        "id": "appointments:42:callback:confirm",
        "type": "outcome",
        "service": "appointments",
        "action": "confirm",
        "captures": {},
        "sender": "+447700900123",
        "message": {"provider": "twilio", "id": "SM123"},
        "received_at": "2026-11-28T09:15:00+00:00",
        "decided_at": "2026-11-28T09:15:01+00:00",
        "decided_by": {"rule": "confirm"},
        "prompt": None,
        "language": None,
    }


def test_the_event_says_which_language_the_person_wrote_in() -> None:
    assert event(language="cy")["language"] == "cy"


def test_an_answer_to_a_prompt_names_it_with_its_times() -> None:
    sent = Prompt(
        service="appointments",
        recipient="+447700900123",
        reference="appt-8812",
        expects=frozenset({Action.confirm, Action.cancel}),
        sent_at=RECEIVED - timedelta(days=1),
        expires_at=RECEIVED + timedelta(days=2),
        text="Reminder: reply YES or CANCEL",
    )
    assert event(prompt=sent)["prompt"] == {
        "reference": "appt-8812",
        "sent_at": "2026-11-27T09:15:00+00:00",
        "expires_at": "2026-11-30T09:15:00+00:00",
    }


@pytest.mark.parametrize(
    ("changes", "decided_by"),
    [
        ({"rule": "confirm"}, {"rule": "confirm"}),
        ({"rule": "cancel-words"}, {"rule": "cancel-words"}),
        ({"rule": None, "decided_by": "caseworker-7"}, {"caseworker": "caseworker-7"}),
        ({"rule": "confirm", "decided_by": "caseworker-7"}, {"caseworker": "caseworker-7"}),
    ],
)
def test_decided_by_names_the_rule_or_the_caseworker(
    changes: dict[str, Any], decided_by: dict[str, str]
) -> None:
    assert event(**changes)["decided_by"] == decided_by


@pytest.mark.parametrize(
    ("when", "written"),
    [
        (RECEIVED, "2026-11-28T09:15:00+00:00"),
        (RECEIVED + timedelta(milliseconds=204), "2026-11-28T09:15:00.204000+00:00"),
        (
            datetime(2026, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
            "2026-06-01T10:00:00+01:00",
        ),
    ],
)
def test_times_are_iso_8601_with_their_offset(when: datetime, written: str) -> None:
    sent = event(received_at=when, decided_at=when)
    assert (sent["received_at"], sent["decided_at"]) == (written, written)


def test_captures_are_the_events_own_copy() -> None:
    captures = {"reference": "AB123", "details": "Tuesday"}
    sent = event(action="change", captures=captures)
    captures["reference"] = "changed later"
    assert sent["captures"] == {"reference": "AB123", "details": "Tuesday"}
    assert type(sent["captures"]) is dict


def test_the_event_is_plain_json() -> None:
    sent = event(captures={"rating": "5"})
    assert json.loads(json.dumps(sent)) == sent


def test_the_header_names_are_the_documented_ones() -> None:
    assert (SIGNATURE_HEADER, IDEMPOTENCY_HEADER) == ("X-Inbound-Signature", "Idempotency-Key")


def test_the_signature_matches_a_fixed_openssl_vector() -> None:
    body = b'{"id":"appointments:42:callback:confirm","type":"outcome"}'
    assert signature(SECRET, T, body) == (
        "t=1795857300,v1=1d3f1b62afae781e1f3428f60bba2edfa6df9db8074ba05f891b4c3f9668bc0c"
    )


@pytest.mark.parametrize(
    ("secret", "timestamp", "body"),
    [
        (SECRET, T, b"{}"),
        (SECRET, 0, b""),
        ("sécret-with-ünicode", T, '{"text": "café"}'.encode()),
        ("s", 2**31 + 1, json.dumps({"captures": {"details": "x" * 5000}}).encode()),
    ],
)
def test_v1_is_hmac_sha256_over_the_timestamp_a_dot_and_the_raw_body(
    secret: str, timestamp: int, body: bytes
) -> None:
    assert signature(secret, timestamp, body) == (
        f"t={timestamp},v1={independent_hmac(secret, timestamp, body)}"
    )


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "accepted"),
    [
        (SECRET, T, b'{"id":"a"}', True),
        ("another-secret", T, b'{"id":"a"}', False),
        (SECRET, T, b'{"id":"b"}', False),  # a changed body
    ],
)
def test_the_documented_receiver_checks_the_signature(
    secret: str, timestamp: int, body: bytes, accepted: bool
) -> None:
    sent = headers(SECRET, T, b'{"id":"a"}', "key-1")
    assert documented_receiver_accepts(secret.encode(), sent, body) is accepted


def test_the_timestamp_is_signed_so_a_request_cant_be_replayed_with_a_new_time() -> None:
    body = json.dumps(event()).encode()
    captured = dict(p.split("=", 1) for p in signature(SECRET, T, body).split(","))
    replayed = {"X-Inbound-Signature": f"t={T + 3600},v1={captured['v1']}"}
    assert not documented_receiver_accepts(SECRET.encode(), replayed, body)


def test_a_signed_request_has_three_headers() -> None:
    body = json.dumps(event()).encode()
    assert headers(SECRET, T, body, "appointments:42:callback:confirm") == {
        "Content-Type": "application/json",
        "Idempotency-Key": "appointments:42:callback:confirm",
        "X-Inbound-Signature": f"t={T},v1={independent_hmac(SECRET, T, body)}",
    }


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_secret_there_is_no_signature_header(secret: str | None) -> None:
    assert headers(secret, T, b"{}", "key-1") == {
        "Content-Type": "application/json",
        "Idempotency-Key": "key-1",
    }


def test_every_attempt_at_one_event_has_the_same_idempotency_key_and_a_fresh_signature() -> None:
    sent = event()
    body = json.dumps(sent).encode()
    attempts = [headers(SECRET, T + delay, body, sent["id"]) for delay in (0, 5, 35, 155)]
    assert {attempt["Idempotency-Key"] for attempt in attempts} == {sent["id"]}
    assert len({attempt["X-Inbound-Signature"] for attempt in attempts}) == len(attempts)
    assert all(documented_receiver_accepts(SECRET.encode(), a, body) for a in attempts)
