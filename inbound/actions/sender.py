"""Sending an auto-reply SMS: the port, a sender that only logs, and GOV.UK Notify's API.

Notify's send (`POST /v2/notifications/sms`, notifications-api `app/v2/notifications/`): 201
when accepted; a refusal is JSON `{"status_code", "errors": [{"error", "message"}]}`, whose
messages are kept on the failed action. 429 (its rate limit, or the day's limit) and 5xx are
tried again later through the action queue's back-off; 400 (e.g. "Can’t send to this recipient
using a team-only API key") and 403 (the key) are final, as `backoff.is_retryable` says.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import aiohttp
import jwt

from inbound import phone
from inbound.actions.attempts import error_reason, notify_reason, timeout_reason
from inbound.actions.notify_account import NoNotifyAccount, NotifyAccount
from inbound.actions.notify_rate import PER_MINUTE, Bucket
from inbound.logs import get_logger

log = get_logger("sender")


class SendFailed(Exception):
    """The SMS was not accepted; `status` is the HTTP status, None for no answer at all;
    `final` when trying again can't help (a missing key or template: a setting to fix)."""

    def __init__(self, reason: str, status: int | None, final: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.final = final


class OutboundSender(Protocol):
    """Anything that sends one SMS for a service; `reference` is unique per reply so the
    provider can dedupe."""

    async def send(self, to: str, text: str, reference: str, service: str) -> None:
        """Send, or raise SendFailed."""


class LogSender:
    """Writes a log line instead of texting anyone: for local runs and demos."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, text: str, reference: str, service: str) -> None:
        """Record the reply (masked number, length only in the log)."""
        self.sent.append((to, text, reference))
        log.info(
            "reply_logged",
            service=service,
            to=phone.mask(to),
            characters=len(text),
            reference=reference,
        )


class NotifyKeyInvalid(ValueError):
    """A GOV.UK Notify API key that isn't `name-<service id>-<secret>`."""


def notify_token(api_key: str, now: float | None = None) -> str:
    """The bearer JWT Notify expects: HS256 with the key's secret, `iss` its service id."""
    if len(api_key) < 74:
        raise NotifyKeyInvalid("a Notify API key ends with two 36-character ids")
    service_id, secret = api_key[-73:-37], api_key[-36:]
    try:
        uuid.UUID(service_id)
        uuid.UUID(secret)
    except ValueError:
        raise NotifyKeyInvalid("a Notify API key ends with <service id>-<secret key>") from None
    issued = int(time.time() if now is None else now)
    return jwt.encode({"iss": service_id, "iat": issued}, secret, algorithm="HS256")


# What a reply may wait here for Notify's rate limit, as a share of the send's timeout: the
# wait and the request together stay within the timeout the action's claim is sized for.
WAIT_SHARE = 0.5


class NotifySender:
    """Sends through GOV.UK Notify's `POST /v2/notifications/sms` with a ((body)) template, as
    each service's account says (`accounts`: its own key, template and sms_sender_id, or the
    global ones), a fresh JWT every request, and no faster than Notify's rate limit."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        accounts: Callable[[str], NotifyAccount],
        timeout: float,
        *,
        clock: Callable[[], float] = time.time,
        per_minute: int = PER_MINUTE,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/v2/notifications/sms"
        self._accounts = accounts
        self._timeout = timeout
        self._clock = clock
        self._per_minute = per_minute
        self._buckets: dict[str, Bucket] = {}  # by Notify service id (the key's `iss`)

    async def send(self, to: str, text: str, reference: str, service: str) -> None:
        """Ask Notify to send the SMS; SendFailed on any refusal or no answer, with Notify's
        own words for a refusal."""
        try:
            account = self._accounts(service)
        except NoNotifyAccount as error:
            raise SendFailed(f"Notify not set up: {error}", None, final=True) from None
        try:
            notify_token(account.api_key, self._clock())
        except NotifyKeyInvalid as error:
            reason = f"Notify not set up: {account.key_name} is not a Notify API key: {error}"
            raise SendFailed(reason, None, final=True) from None
        body: dict[str, object] = {
            "phone_number": to,
            "template_id": account.template_id,
            "personalisation": {"body": text},
            "reference": reference,
        }
        if account.sms_sender_id is not None:
            body["sms_sender_id"] = account.sms_sender_id
        bucket = self._buckets.setdefault(account.api_key[-73:-37], Bucket(self._per_minute))
        wait = bucket.wait(self._clock())
        if wait > self._timeout * WAIT_SHARE:
            reason = (
                f"Notify rate limit: held back by inbound ({self._per_minute} texts a minute "
                "for this Notify service)"
            )
            raise SendFailed(reason, 429)
        bucket.take(self._clock())
        if wait > 0:
            await asyncio.sleep(wait)
        # Made after any wait: Notify refuses a token whose iat is more than 30 s old.
        token = notify_token(account.api_key, self._clock())
        headers = {"Authorization": f"Bearer {token}"}
        limit = aiohttp.ClientTimeout(total=self._timeout - wait)
        try:
            async with self._http.post(
                self._url, json=body, headers=headers, timeout=limit
            ) as response:
                if response.status >= 300:
                    if response.status == 429:
                        bucket.refused(self._clock())
                    answer = await response.read()
                    raise SendFailed(notify_reason(response.status, answer), response.status)
        except TimeoutError:
            reason = f"Notify unreachable: {timeout_reason(self._timeout)}"
            raise SendFailed(reason, None) from None
        except aiohttp.ClientError as error:
            reason = f"Notify unreachable: {error_reason(type(error).__name__, str(error))}"
            raise SendFailed(reason, None) from None
