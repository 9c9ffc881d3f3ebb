"""Time-ordered UUIDs (version 7 layout).

Camunda clients need UUID-shaped ids; ordering by a v7 id is ordering by creation time,
which gives Camunda's "creation order" default sort and stable keyset paging for free.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # [milliseconds, counter]


def new_id() -> str:
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            # Same (or a backwards-stepped) millisecond: keep ids increasing with a counter.
            ms = _last[0]
            _last[1] += 1
            if _last[1] >= 1 << 12:
                ms += 1
                _last[1] = 0
        else:
            _last[1] = 0
        _last[0] = ms
        counter = _last[1]
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))
