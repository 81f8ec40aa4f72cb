"""Password checks off the event loop: argon2id in a small, fixed pool of threads.

An argon2id check costs ~0.2-0.5 s of CPU and 64 MiB. On the event loop, every sign-in stopped
every webhook for that long. Here at most WORKERS checks run at once (argon2 releases the GIL,
so the loop keeps answering), at most WAITING more queue for a worker, and beyond that a sign-in
is told to try again in a moment rather than joining a queue that only grows.

WORKERS is 2: a flood then costs at most two cores' worth of argon2 (the deployed review process
has one or two) and 128 MiB, which fits the review process's 256 MB beside Python itself; one
worker would make a single slow check hold up everyone's sign-in. WAITING is 32: about ten
seconds' worth of checks, about as long as someone will look at a spinning page.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from inbound.review import auth

WORKERS = 2
WAITING = 32


class TooBusy(Exception):
    """More sign-ins are waiting for a password check than the queue holds."""


class PasswordChecks:
    """The pool; one per process serving the review pages, closed when it stops."""

    def __init__(self, workers: int = WORKERS, waiting: int = WAITING) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._room = workers + waiting
        self._in_pool = 0

    @property
    def in_pool(self) -> int:
        """Checks running or queued now."""
        return self._in_pool

    async def check(self, stored: str | None, password: str) -> bool:
        """auth.check_password in the pool; TooBusy when the queue is full."""
        if self._in_pool >= self._room:
            raise TooBusy
        self._in_pool += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, auth.check_password, stored, password)
        finally:
            self._in_pool -= 1

    def close(self) -> None:
        """Stop taking checks; the ones running finish in their threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
