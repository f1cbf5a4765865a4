"""Python's garbage collector set for batch work: imports, the projection worker,
rebuilds and as-of replays.

By default the young generation is collected every 700 new objects. A batch keeps its
thousands of rows, states and events alive until it is appended or applied, so a
collection every few rows frees nothing, promotes them all, and every tenth one scans
the whole heap: measured, a sixth of an import's CPU and about a quarter of a worker's
catch-up. While batch work runs the young generation is collected every 50,000 new
objects instead; cycles are still collected, only later.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_GEN0_THRESHOLD = 50_000

_lock = threading.Lock()
_running = 0
_thresholds_before = gc.get_threshold()


@contextmanager
def collecting_less() -> Iterator[None]:
    """The setting for the length of the block. Blocks that overlap (imports in API
    threads) share it; the last one to end puts the old thresholds back."""
    global _running, _thresholds_before
    with _lock:
        if _running == 0:
            _thresholds_before = gc.get_threshold()
            gc.set_threshold(max(BATCH_GEN0_THRESHOLD, _thresholds_before[0]),
                             *_thresholds_before[1:])
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_thresholds_before)
