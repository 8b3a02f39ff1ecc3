"""API rate limits shared by every replica: the in-memory limiter's GCRA, kept in one Redis key per limit.

One Lua script reads and advances the key atomically, on Redis's clock (replicas' clocks never disagree).
When Redis does not answer, each replica falls back to its own in-memory limiter: limits then hold per
replica rather than in total, and requests keep being served."""

from __future__ import annotations

import redis.asyncio as redis

from techscaniq.api.ratelimit import InMemoryRateLimiter, RateLimiter
from techscaniq.coordination.connection import RedisGuard

# KEYS[1]: the key; ARGV: interval ms, window ms. Returns {allowed (1|0), retry after ms}.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + tonumber(now_parts[2]) / 1000
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local arrival = tonumber(redis.call('GET', KEYS[1]) or now)
if arrival < now then arrival = now end
local earliest = arrival + interval - window
if earliest > now then return {0, math.ceil(earliest - now)} end
local next_arrival = arrival + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_arrival), 'PX', math.ceil(next_arrival - now) + 1)
return {1, 0}
"""


class RedisRateLimiter:
    def __init__(self, guard: RedisGuard, fallback: RateLimiter | None = None, prefix: str = "techscaniq:") -> None:
        self._guard = guard
        self._fallback = fallback or InMemoryRateLimiter()
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: float) -> tuple[bool, float]:
        window_ms = window_seconds * 1000

        async def gcra(client: redis.Redis[str]) -> list[int]:
            result: list[int] = await client.eval(  # type: ignore[no-untyped-call]
                _GCRA, 1, f"{self._prefix}ratelimit:{key}", window_ms / limit, window_ms
            )
            return result

        result = await self._guard.call("rate_limit", gcra)
        if result is None:
            return await self._fallback.hit(key, limit, window_seconds)
        allowed, retry_after_ms = int(result[0]), int(result[1])
        return allowed == 1, retry_after_ms / 1000
