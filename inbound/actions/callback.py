"""POSTing an outcome to a service's callback URL."""

from __future__ import annotations

import aiohttp

from inbound.actions.attempts import error_reason, status_reason, timeout_reason


class CallbackFailed(Exception):
    """The service didn't accept the callback; `status` is None for no answer at all. The
    message says why in a few safe words: `HTTP 503`, `timeout after 10 s`, or the connection
    error's type and message (`ClientConnectorError: Cannot connect to host …`)."""

    def __init__(self, reason: str, status: int | None) -> None:
        super().__init__(reason)
        self.status = status


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], within: float
) -> int:
    """POST the event; return the 2xx status, or raise CallbackFailed."""
    try:
        async with http.post(
            url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=within),
            allow_redirects=False,
        ) as response:
            await response.read()
            if 200 <= response.status < 300:
                return response.status
            raise CallbackFailed(status_reason(response.status), response.status)
    except TimeoutError:
        raise CallbackFailed(timeout_reason(within), None) from None
    except aiohttp.ClientError as error:
        raise CallbackFailed(error_reason(type(error).__name__, str(error)), None) from None
