"""A sign-in flood: concurrent loops posting wrong passwords to /review/sign-in, as an attacker
guessing passwords would (a fresh email each time, so per-account throttling alone can't stop it).

    .venv/bin/python bench/flood.py http://127.0.0.1:PORT --loops 6 --seconds 10

Each loop fetches the sign-in page once for its CSRF cookie, then posts as fast as answers come.
Prints one JSON line: attempts, seconds, and the count of each status. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time
import uuid

import aiohttp


async def loop(base: str, until: float, statuses: collections.Counter[int]) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{base}/review/sign-in") as page:
            await page.read()
        token = next((c.value for c in jar if c.key == "inbound_csrf"), "")
        # The cookie is marked Secure, so the jar won't send it over plain http: send it as is.
        headers = {"Cookie": f"inbound_csrf={token}"}
        while time.monotonic() < until:
            form = {
                "email": f"guess-{uuid.uuid4().hex[:8]}@example.org",
                "password": "wrong password",
                "csrf_token": token,
            }
            async with http.post(f"{base}/review/sign-in", data=form, headers=headers) as answer:
                await answer.read()
                statuses[answer.status] += 1


async def flood(base: str, loops: int, seconds: float) -> dict[str, object]:
    statuses: collections.Counter[int] = collections.Counter()
    started = time.monotonic()
    await asyncio.gather(*(loop(base, started + seconds, statuses) for _ in range(loops)))
    took = time.monotonic() - started
    return {
        "attempts": sum(statuses.values()),
        "seconds": took,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the server's base URL, e.g. http://127.0.0.1:8081")
    parser.add_argument("--loops", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if not args.base.startswith(("http://127.", "http://localhost")):
        raise SystemExit("flood.py: loopback addresses only")
    print(json.dumps(asyncio.run(flood(args.base.rstrip("/"), args.loops, args.seconds))))


if __name__ == "__main__":
    main()
