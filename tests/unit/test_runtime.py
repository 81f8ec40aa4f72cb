"""How long-running processes set up their heap: frozen start-up objects, a larger young GC."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import gc, json
from inbound import runtime
before = gc.get_threshold()
runtime.settle_heap()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_settle_heap_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    # In a child process: the GC's settings are global, and this test run's must not change.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    figures = json.loads(done.stdout)
    assert figures["before"][0] == 700  # CPython's default, so the change below is ours
    assert figures["after"][0] == 20_000
    assert figures["frozen"] > 1_000
