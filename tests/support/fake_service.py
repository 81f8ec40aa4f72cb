"""A real HTTP server standing in for a service's callback endpoint or GOV.UK Notify."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeService:
    """Answers each request with the next status in `script` (the last repeats)."""

    script: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, dict(request.headers), await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.script[min(len(self.received), len(self.script)) - 1]
        return web.json_response({"ok": status < 300}, status=status)


@asynccontextmanager
async def fake_service(
    script: list[int] | None = None, delay: float = 0.0
) -> AsyncIterator[FakeService]:
    """Serve a FakeService on 127.0.0.1 for the duration of the block."""
    service = FakeService(script or [200], delay)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", service.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    service.url = str(server.make_url("/"))
    try:
        yield service
    finally:
        await server.close()
