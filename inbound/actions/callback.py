"""POSTing an outcome to a service's callback URL."""

from __future__ import annotations

import aiohttp


class CallbackFailed(Exception):
    """The service didn't accept the callback; `status` is None for no answer at all."""

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
            raise CallbackFailed(f"{response.status}", response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        reason = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
        raise CallbackFailed(reason, None) from None
