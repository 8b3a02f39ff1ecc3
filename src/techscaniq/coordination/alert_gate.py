"""Alert dedupe and throttle state shared by replicas, in Redis, in front of the database checks.

- `exclusive(dedupe_key)`: one replica at a time raises an alert for a dedupe key, so two replicas handling
  repeats of one change at once (a Kafka rebalance hands a partition over mid-handling) cannot both find
  "no open alert" and notify twice.
- `claim_window(dedupe_key, alert_id, seconds)`: SET NX PX. The first alert of a throttle window takes it;
  a later one sees the window taken and is throttled without reading the alerts table. The value is the
  alert id, so handling the same scan again (a redelivered event) finds its own claim and is not throttled.

Redis losing its keys (a restart) only loses the fast path: the engine still checks the database."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as redis

from techscaniq.coordination.connection import RedisGuard

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class AlertGate(Protocol):
    def exclusive(self, dedupe_key: str) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def claim_window(self, dedupe_key: str, alert_id: str, seconds: float) -> bool | None:
        """True: this alert owns the window; False: another alert does (throttle); None: unknown."""
        ...

    async def hold_window(self, dedupe_key: str, alert_id: str, seconds: float) -> None:
        """Record that `alert_id` owns the window for `seconds` more (the database knew better)."""
        ...


class RedisAlertGate:
    def __init__(self, guard: RedisGuard, prefix: str = "techscaniq:", lock_seconds: float = 10.0) -> None:
        self._guard = guard
        self._prefix = prefix
        self._lock_ms = int(lock_seconds * 1000)

    @contextlib.asynccontextmanager
    async def exclusive(self, dedupe_key: str) -> AsyncIterator[None]:
        key, token = f"{self._prefix}alert-lock:{dedupe_key}", secrets.token_hex(8)
        deadline = asyncio.get_running_loop().time() + self._lock_ms / 1000

        async def acquire(client: redis.Redis[str]) -> bool:
            return bool(await client.set(key, token, nx=True, px=self._lock_ms))

        # A holder that died leaves its lock to expire: after lock_seconds we go on without it.
        while (acquired := await self._guard.call("alert_lock", acquire)) is False:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        held = bool(acquired)
        try:
            yield
        finally:
            if held:
                await self._guard.call("alert_lock", lambda client: client.eval(_RELEASE, 1, key, token))  # type: ignore[no-untyped-call]

    async def claim_window(self, dedupe_key: str, alert_id: str, seconds: float) -> bool | None:
        key = f"{self._prefix}alert-window:{dedupe_key}"

        async def claim(client: redis.Redis[str]) -> bool:
            if await client.set(key, alert_id, nx=True, px=max(1, int(seconds * 1000))):
                return True
            return bool(await client.get(key) == alert_id)

        return await self._guard.call("alert_throttle", claim)

    async def hold_window(self, dedupe_key: str, alert_id: str, seconds: float) -> None:
        key = f"{self._prefix}alert-window:{dedupe_key}"
        if seconds > 0:
            await self._guard.call("alert_throttle", lambda client: client.set(key, alert_id, px=int(seconds * 1000)))
