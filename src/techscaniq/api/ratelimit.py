"""Rate limits per organization and per credential (429 with Retry-After).

The interface is one call, so a shared implementation (Redis, for several API replicas) can replace
the in-memory one without touching the routes:

    allowed, retry_after_seconds = await limiter.hit("org:acme", limit=600, window_seconds=60)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: float) -> tuple[bool, float]:
        """Count one request for `key`. Returns (allowed, seconds until a request would be allowed)."""
        ...


class InMemoryRateLimiter:
    """GCRA (a token bucket kept as one timestamp per key): `limit` requests per window, bursts up to
    `limit`, refilled evenly. Exact, O(1) per request, and the state is a float per key — the same
    arithmetic fits one Redis key for a shared implementation."""

    MAX_KEYS = 100_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._arrival: dict[str, float] = {}  # key -> theoretical arrival time of the next request
        self._lock = asyncio.Lock()

    async def hit(self, key: str, limit: int, window_seconds: float) -> tuple[bool, float]:
        interval = window_seconds / limit
        async with self._lock:
            now = self._clock()
            arrival = max(self._arrival.get(key, now), now)
            earliest = arrival + interval - window_seconds  # when this request would fit in the bucket
            if earliest > now:
                return False, earliest - now
            self._arrival[key] = arrival + interval
            if len(self._arrival) > self.MAX_KEYS:
                self._forget_idle(now)
            return True, 0.0

    def _forget_idle(self, now: float) -> None:
        """A key whose bucket has refilled completely holds no information."""
        for key in [key for key, arrival in self._arrival.items() if arrival <= now]:
            del self._arrival[key]
