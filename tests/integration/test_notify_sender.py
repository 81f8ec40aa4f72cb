"""NotifySender against the fake GOV.UK Notify over real HTTP: each service's own key and
sender, a fresh JWT every request, Notify's refusals kept in its words, and its rate limit."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from inbound.actions.backoff import is_retryable
from inbound.actions.notify_account import Defaults, NoNotifyAccount, NotifyAccount, account
from inbound.actions.sender import NotifySender, SendFailed
from inbound.rules.model import Notify
from tests.support.fake_notify import TEAM_ONLY_ERROR, FakeNotify, FakeNotifyService

TEMPLATE = str(uuid.UUID(int=3))
SENDER_ID = str(uuid.UUID(int=9))
TO = "+447700900123"
NO_VARIABLES: dict[str, str] = {}


class Clock:
    """One clock for inbound and the fake Notify, moved by the test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def service(fake_notify: FakeNotify) -> FakeNotifyService:
    return fake_notify.add_service(
        templates={TEMPLATE: "((body))"},
        sms_senders={SENDER_ID: "07700900111"},
        team_numbers=["07700900222"],
    )


def sender(
    http: aiohttp.ClientSession,
    notify: FakeNotify,
    accounts: Callable[[str], NotifyAccount],
    **options: object,
) -> NotifySender:
    timeout = float(str(options.pop("timeout", 5.0)))
    return NotifySender(http, notify.url, accounts, timeout, **options)  # type: ignore[arg-type]


def one(key: str, sender_id: str | None = None) -> Callable[[str], NotifyAccount]:
    return lambda _service: NotifyAccount(key, TEMPLATE, sender_id)


async def test_a_reply_goes_from_the_services_own_number_with_its_own_key(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    other = fake_notify.add_service(templates={TEMPLATE: "((body))"})
    own_key, global_key = fake_notify.mint_key(service), fake_notify.mint_key(other)
    rules = {
        "library": Notify(api_key_env="LIBRARY_NOTIFY_KEY", sms_sender_id=SENDER_ID),
        "parking": None,  # no block: the global key, Notify's default sender
    }
    defaults = Defaults(global_key, TEMPLATE)

    def accounts(service_id: str) -> NotifyAccount:
        return account(rules[service_id], defaults, {"LIBRARY_NOTIFY_KEY": own_key}.get)

    notify = sender(http, fake_notify, accounts)
    await notify.send(TO, "Thanks, confirmed.", "library:1:reply", "library")
    await notify.send(TO, "Your permit is ready.", "parking:1:reply", "parking")
    library, parking = fake_notify.sent
    assert (library.service_id, library.from_number) == (service.id, "07700900111")
    assert (library.sms_sender_id, library.body) == (SENDER_ID, "Thanks, confirmed.")
    assert (parking.service_id, parking.from_number, parking.sms_sender_id) == (
        other.id,
        "GOVUK",
        None,
    )
    assert parking.reference == "parking:1:reply"


async def test_every_request_has_a_fresh_token(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    # Both clocks move on a minute between the sends: a token made once and reused would be
    # refused as Notify refuses an `iat` more than 30 s old.
    clock = Clock()
    fake_notify.clock = clock
    notify = sender(http, fake_notify, one(fake_notify.mint_key(service)), clock=clock)
    await notify.send(TO, "first", "ref-1", "library")
    clock.offset += 60
    await notify.send(TO, "second", "ref-2", "library")
    assert [sms.body for sms in fake_notify.sent] == ["first", "second"]


async def test_a_token_from_a_clock_notify_calls_wrong_is_refused_in_its_words(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    clock = Clock()
    clock.offset = -45  # inbound's clock 45 s behind Notify's
    notify = sender(http, fake_notify, one(fake_notify.mint_key(service)), clock=clock)
    with pytest.raises(SendFailed) as refused:
        await notify.send(TO, "hello", "ref-1", "library")
    assert refused.value.status == 403
    assert str(refused.value) == (
        "Notify answered HTTP 403: Error: Your system clock must be accurate to within 30 seconds"
    )


@pytest.mark.parametrize(
    ("key_type", "to", "sender_id", "status", "words", "retried"),
    [
        ("team", TO, None, 400, TEAM_ONLY_ERROR, False),
        ("normal", TO, str(uuid.UUID(int=10)), 400, "does not exist in database", False),
        ("normal", "+4477009", None, 400, "phone_number Not enough digits", False),
    ],
)
async def test_notifys_refusal_is_kept_in_its_words_and_is_final(
    http: aiohttp.ClientSession,
    fake_notify: FakeNotify,
    service: FakeNotifyService,
    key_type: str,
    to: str,
    sender_id: str | None,
    status: int,
    words: str,
    retried: bool,
) -> None:
    key = fake_notify.mint_key(service, key_type=key_type)  # type: ignore[arg-type]
    notify = sender(http, fake_notify, one(key, sender_id))
    with pytest.raises(SendFailed) as refused:
        await notify.send(to, "hello", "ref-1", "library")
    assert refused.value.status == status
    assert str(refused.value).startswith(f"Notify answered HTTP {status}: ")
    assert words in str(refused.value)
    assert is_retryable(refused.value.status) is retried
    assert fake_notify.sent == []


async def test_a_revoked_key_is_a_final_403_in_notifys_words(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    key = fake_notify.mint_key(service)
    fake_notify.revoke(key)
    with pytest.raises(SendFailed) as refused:
        await sender(http, fake_notify, one(key)).send(TO, "hello", "ref-1", "library")
    assert str(refused.value) == "Notify answered HTTP 403: Invalid token: API key revoked"
    assert not is_retryable(refused.value.status)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (429, "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
        (500, "Internal server error"),
    ],
)
async def test_429_and_5xx_are_kept_in_words_and_retried(
    http: aiohttp.ClientSession,
    fake_notify: FakeNotify,
    service: FakeNotifyService,
    status: int,
    words: str,
) -> None:
    notify = sender(http, fake_notify, one(fake_notify.mint_key(service)))
    fake_notify.fail_next(status)
    with pytest.raises(SendFailed) as refused:
        await notify.send(TO, "hello", "ref-1", "library")
    assert str(refused.value) == f"Notify answered HTTP {status}: {words}"
    assert is_retryable(refused.value.status)
    await notify.send(TO, "hello", "ref-1", "library")  # the retry goes through
    assert len(fake_notify.sent) == 1


async def test_replies_beyond_notifys_rate_are_held_back_not_refused(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    # A service limited to 60 a minute: Notify's bucket holds 21 and refills one a second.
    # inbound's clock stands still here, so after 21 the next is a second away; with a 1 s
    # timeout a reply may wait half of it, so the 22nd is held back (a 429 to try again
    # later) without asking Notify.
    frozen = time.time()
    notify = sender(
        http,
        fake_notify,
        one(fake_notify.mint_key(service)),
        per_minute=60,
        timeout=1.0,
        clock=lambda: frozen,
    )
    for number in range(21):
        await notify.send(TO, f"text {number}", f"ref-{number}", "library")
    assert len(fake_notify.sent) == 21
    with pytest.raises(SendFailed) as held:
        await notify.send(TO, "one too many", "ref-22", "library")
    assert held.value.status == 429
    assert is_retryable(held.value.status)
    assert str(held.value).startswith("Notify rate limit: held back by inbound")
    assert len(fake_notify.sent) == 21


async def test_after_notifys_429_this_process_slows_to_its_refill_rate(
    http: aiohttp.ClientSession, fake_notify: FakeNotify, service: FakeNotifyService
) -> None:
    notify = sender(
        http, fake_notify, one(fake_notify.mint_key(service)), per_minute=60, timeout=3.0
    )
    fake_notify.fail_next(429)
    with pytest.raises(SendFailed):
        await notify.send(TO, "refused", "ref-1", "library")
    started = time.monotonic()
    await notify.send(TO, "waits its turn", "ref-2", "library")  # ~1 s: one token a second
    assert time.monotonic() - started >= 0.9
    assert [sms.body for sms in fake_notify.sent] == ["waits its turn"]


async def test_a_missing_key_is_final_and_asks_notify_nothing(
    http: aiohttp.ClientSession, fake_notify: FakeNotify
) -> None:
    def accounts(_service: str) -> NotifyAccount:
        return account(
            Notify(api_key_env="LIBRARY_NOTIFY_KEY"), Defaults(None, TEMPLATE), NO_VARIABLES.get
        )

    with pytest.raises(SendFailed) as failed:
        await sender(http, fake_notify, accounts).send(TO, "hello", "ref-1", "library")
    assert failed.value.final
    assert str(failed.value).startswith("Notify not set up: LIBRARY_NOTIFY_KEY is not set")
    assert fake_notify.requests == []
    with pytest.raises(NoNotifyAccount):
        accounts("library")


async def test_a_malformed_key_is_final(
    http: aiohttp.ClientSession, fake_notify: FakeNotify
) -> None:
    accounts = one("not-a-notify-key")
    with pytest.raises(SendFailed) as failed:
        await sender(http, fake_notify, accounts).send(TO, "hello", "ref-1", "library")
    assert failed.value.final
    assert "INBOUND_NOTIFY_API_KEY is not a Notify API key" in str(failed.value)
