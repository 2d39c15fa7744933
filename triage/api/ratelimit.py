"""A small in-process rate limiter (sliding window per key), for login and HTTP ingest.

In-process is enough for one API process; behind several replicas each replica limits on its
own (the per-account login back-off in the database applies across all of them).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a request for ``key``; None if allowed, else seconds until one is."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window_s - now
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys
                for stale in [k for k, v in self._hits.items() if not v]:
                    del self._hits[stale]
            return None
