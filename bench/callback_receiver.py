"""A service's callback endpoint for the latency bench: notes when each event first arrived.

    .venv/bin/python bench/callback_receiver.py --port P

POST /events takes inbound's callback events and answers 204 at once; the arrival time is
`time.monotonic()` (CLOCK_MONOTONIC, the same clock in every process of the machine, so the
bench can subtract the time it scheduled the webhook). GET /results answers
{"count", "duplicates"}, and with ?full=1 also {"arrivals": {message id: seconds}}.
Loopback only; prints "listening on" when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web


def create_app() -> web.Application:
    arrivals: dict[str, float] = {}
    duplicates = 0

    async def event(request: web.Request) -> web.Response:
        nonlocal duplicates
        now = time.monotonic()
        body = await request.read()
        message_id = json.loads(body)["message"]["id"]
        if message_id in arrivals:
            duplicates += 1
        else:
            arrivals[message_id] = now
        return web.Response(status=204)

    async def results(request: web.Request) -> web.Response:
        answer: dict[str, object] = {"count": len(arrivals), "duplicates": duplicates}
        if request.query.get("full"):
            answer["arrivals"] = arrivals
        return web.json_response(answer)

    app = web.Application()
    app.router.add_post("/events", event)
    app.router.add_get("/results", results)
    return app


async def serve(port: int) -> None:
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM ends the process
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop  # as inbound's processes: less of the shared CPU for the receiver
    except ImportError:
        asyncio.run(serve(args.port))
    else:
        uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
