"""The HTTP adapter for Notify's `GET /v2/received-text-messages`: one page per call.

Authorised as every Notify API call is, with a fresh JWT made from the service's API key
(`notify_token`: HS256, `iss` the service id, `iat` now; Notify allows 30 s of clock skew).
"""

from __future__ import annotations

import aiohttp
import orjson

from inbound.actions.attempts import error_reason, timeout_reason
from inbound.actions.sender import NotifyKeyInvalid, notify_token
from inbound.backfill.page import PageInvalid, ReceivedText, read_page

PATH = "/v2/received-text-messages"


class NotifyReadFailed(Exception):
    """Notify didn't give a page: refused (`status` 4xx: a key to fix), unavailable (5xx, no
    answer), or an answer that isn't a page. The message says which, in words."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


def _notify_says(body: bytes) -> str:
    """Notify's own words from `{"errors": [{"message"}]}`, else nothing (never the raw body)."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    errors = decoded.get("errors") if isinstance(decoded, dict) else None
    messages = [
        error["message"]
        for error in errors or []
        if isinstance(error, dict) and isinstance(error.get("message"), str)
    ]
    return "; ".join(messages)[:300]


class ReceivedTexts:
    """Reads pages of one Notify service's received texts, with its API key."""

    def __init__(
        self, http: aiohttp.ClientSession, base_url: str, api_key: str, timeout: float
    ) -> None:
        try:
            notify_token(api_key)  # a malformed key is said now, not at the first page
        except NotifyKeyInvalid as error:
            raise NotifyReadFailed(f"the API key is not a Notify API key: {error}") from None
        self._http = http
        self._url = base_url.rstrip("/") + PATH
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def page(self, older_than: str | None) -> list[ReceivedText]:
        """The page of texts older than `older_than` (the newest page for None)."""
        params = {} if older_than is None else {"older_than": older_than}
        headers = {"Authorization": f"Bearer {notify_token(self._api_key)}"}
        try:
            async with self._http.get(
                self._url, params=params, headers=headers, timeout=self._timeout
            ) as response:
                body = await response.read()
                status = response.status
        except TimeoutError:
            total = self._timeout.total or 0
            raise NotifyReadFailed(f"Notify unreachable: {timeout_reason(total)}") from None
        except aiohttp.ClientError as error:
            reason = error_reason(type(error).__name__, str(error))
            raise NotifyReadFailed(f"Notify unreachable: {reason}") from None
        if status != 200:
            says = _notify_says(body)
            raise NotifyReadFailed(
                f"Notify answered {status}" + (f": {says}" if says else ""), status
            )
        try:
            return read_page(body)
        except PageInvalid as error:
            raise NotifyReadFailed(f"Notify's answer is not a page of texts: {error}") from None
