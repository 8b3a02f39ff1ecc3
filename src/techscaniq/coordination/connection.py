"""The Redis connection pool, and the guard every Redis call goes through.

The guard is a small circuit breaker: after a failure Redis is skipped for `retry_seconds` (callers take
their fallback at once instead of waiting for a timeout per call), the outage is logged once, not per call,
and every fallback is counted in `techscaniq_coordination_fallbacks{operation}`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError

from techscaniq.observability.metrics import COORDINATION_FALLBACKS
from techscaniq.settings import Settings

log = logging.getLogger("techscaniq.coordination")

T = TypeVar("T")

# Short: a Redis that does not answer must cost a scan's alert stage milliseconds, not seconds.
SOCKET_TIMEOUT_SECONDS = 0.5


def create_redis(settings: Settings) -> redis.Redis[str]:
    """A client on settings.redis_url with the pool size and password of the settings (a password in the
    URL wins). Connects lazily: creating it never fails because Redis is down."""
    if not settings.redis_url:
        raise ValueError("redis_url is not set")
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    if "@" in settings.redis_url.split("://", 1)[-1]:
        password = None  # the URL carries its credentials
    return redis.Redis.from_url(
        settings.redis_url, password=password, max_connections=settings.redis_pool_max_connections,
        socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS, decode_responses=True,
    )


class RedisGuard:
    def __init__(self, client: redis.Redis[str], retry_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._down_until: float | None = None  # set while Redis is considered down

    @property
    def available(self) -> bool:
        return self._down_until is None

    async def call(self, operation: str, action: Callable[[redis.Redis[str]], Awaitable[T]]) -> T | None:
        """`action(client)`, or None when Redis is down or fails (the caller takes its fallback)."""
        if self._down_until is not None and self._clock() < self._down_until:
            COORDINATION_FALLBACKS.labels(operation).inc()
            return None
        try:
            result = await action(self.client)
        except (RedisError, OSError) as exc:
            if self._down_until is None:
                log.warning("Redis unavailable (%s: %s): falling back to local/database coordination",
                            type(exc).__name__, exc)
            self._down_until = self._clock() + self._retry_seconds
            COORDINATION_FALLBACKS.labels(operation).inc()
            return None
        if self._down_until is not None:
            log.warning("Redis available again: coordination through Redis resumed")
            self._down_until = None
        return result

    async def ping(self) -> bool:
        """Whether Redis answers now (health checks ask directly, not through the fallback window)."""
        try:
            async with asyncio.timeout(5):
                await self.client.ping()
        except (RedisError, OSError, TimeoutError):
            return False
        return True

    async def aclose(self) -> None:
        await self.client.aclose()  # type: ignore[attr-defined]  # (types-redis predates aclose)
