"""How a long-running inbound process (serve, worker, run) runs: its event loop and its heap.

Both measured under the ingest benchmark (docs/performance.md):

- uvloop, where it is installed, takes about a tenth off the receiver's CPU a webhook (socket
  writes, timers and callbacks are a large share of each request). Without it (a platform it
  doesn't build on) the standard loop runs the same code.
- Once started, the heap is frozen: imports, schemas and the rest of start-up are ~140,000
  objects that every full collection of the cyclic GC re-scanned, stalling the loop ~150 ms at a
  time (a p99 request). Objects made afterwards are collected as before; frozen ones are still
  freed when their last reference goes, only a reference cycle among them stays.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # optional: absent on platforms it does not build on
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop when it is installed."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Collect start-up garbage, then exempt what is left from the GC's full collections."""
    gc.collect()
    gc.freeze()
