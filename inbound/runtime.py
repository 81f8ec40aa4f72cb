"""How a long-running inbound process (serve, worker, run) runs: its event loop and its heap.

Both measured under the ingest benchmark (docs/performance.md):

- uvloop, where it is installed, takes about a tenth off the receiver's CPU a webhook (socket
  writes, timers and callbacks are a large share of each request). Without it (a platform it
  doesn't build on) the standard loop runs the same code.
- Once started, the heap is frozen: imports, schemas and the rest of start-up are ~140,000
  objects that every full collection of the cyclic GC re-scanned, stalling the loop ~150 ms at a
  time (a p99 request). Objects made afterwards are collected as before; frozen ones are still
  freed when their last reference goes, only a reference cycle among them stays.
- The youngest generation is collected after 20,000 new container objects, not 700: a webhook
  allocates hundreds, so the default ran a collection every request or two. Measured A/B in one
  bench run: 5-7 % less CPU a webhook. What a request leaves behind is almost never a cycle, so
  memory is the same (checked by the 100,000-message soak).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# New container objects between collections of the youngest generation (CPython's default: 700).
YOUNG_THRESHOLD = 20_000


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
    gc.set_threshold(YOUNG_THRESHOLD, 50, 50)
