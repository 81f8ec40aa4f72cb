"""The HTTP fetching the SNS provider needs (signing certificates, subscription confirmation).

An adapter with one small interface so the provider stays testable: tests inject a fetcher that
serves a certificate they generate, because AWS can't be reached from the test environment.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp

# A signing certificate is about 2 KB; a confirmation answer is a short XML document.
MAX_BYTES = 64 * 1024


class FetchFailed(Exception):
    """The URL could not be fetched (network, timeout, non-200, too large)."""


class Fetcher(Protocol):
    """GET a URL and return its body, or raise FetchFailed."""

    async def __call__(self, url: str) -> bytes:
        """The body of a 200 answer to GET `url`."""


class AiohttpFetcher:
    """The real fetcher: one short-lived session per fetch, no redirects, bounded size and time.

    A session per fetch because fetches are rare (certificates are cached, confirmations happen
    once per subscription) and the provider has no shutdown hook to close a long-lived one.
    """

    def __init__(self, timeout: float = 10.0, max_bytes: int = MAX_BYTES) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_bytes = max_bytes

    async def __call__(self, url: str) -> bytes:
        """GET `url`; only a 200 with a body under the size limit counts."""
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                # A redirect could lead off the AWS host the caller checked: not followed.
                session.get(url, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    raise FetchFailed(f"HTTP {response.status}")
                body = bytearray()
                async for chunk in response.content.iter_chunked(16 * 1024):
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise FetchFailed(f"answer over {self._max_bytes} bytes")
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise FetchFailed(type(error).__name__) from None
        return bytes(body)
