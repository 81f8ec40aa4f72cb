"""Sending an auto-reply SMS: the port, a sender that only logs, and GOV.UK Notify's API."""

from __future__ import annotations

import time
import uuid
from typing import Protocol

import aiohttp
import jwt

from inbound import phone
from inbound.actions.attempts import error_reason, status_reason, timeout_reason
from inbound.logs import get_logger

log = get_logger("sender")


class SendFailed(Exception):
    """The SMS was not accepted; `status` is the HTTP status, None for no answer at all."""

    def __init__(self, reason: str, status: int | None) -> None:
        super().__init__(reason)
        self.status = status


class OutboundSender(Protocol):
    """Anything that sends one SMS; `reference` is unique per reply so the provider can dedupe."""

    async def send(self, to: str, text: str, reference: str) -> None:
        """Send, or raise SendFailed."""


class LogSender:
    """Writes a log line instead of texting anyone: for local runs and demos."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, text: str, reference: str) -> None:
        """Record the reply (masked number, length only in the log)."""
        self.sent.append((to, text, reference))
        log.info("reply_logged", to=phone.mask(to), characters=len(text), reference=reference)


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


class NotifySender:
    """Sends through GOV.UK Notify's `POST /v2/notifications/sms` with a ((body)) template."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        template_id: str,
        timeout: float,
    ) -> None:
        notify_token(api_key)  # fail at start-up, not at the first reply
        self._http = http
        self._url = base_url.rstrip("/") + "/v2/notifications/sms"
        self._api_key = api_key
        self._template_id = template_id
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, to: str, text: str, reference: str) -> None:
        """Ask Notify to send the SMS; SendFailed on any refusal or no answer."""
        body = {
            "phone_number": to,
            "template_id": self._template_id,
            "personalisation": {"body": text},
            "reference": reference,
        }
        headers = {"Authorization": f"Bearer {notify_token(self._api_key)}"}
        try:
            async with self._http.post(
                self._url, json=body, headers=headers, timeout=self._timeout
            ) as response:
                if response.status >= 300:
                    reason = f"Notify answered {status_reason(response.status)}"
                    raise SendFailed(reason, response.status)
        except TimeoutError:
            reason = f"Notify unreachable: {timeout_reason(self._timeout.total or 0)}"
            raise SendFailed(reason, None) from None
        except aiohttp.ClientError as error:
            reason = f"Notify unreachable: {error_reason(type(error).__name__, str(error))}"
            raise SendFailed(reason, None) from None
