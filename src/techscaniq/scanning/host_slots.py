"""Concurrency limits for fetching: at most N requests to one host, and M in all, at any moment.

The per-host limit keeps a monitoring fleet from hammering one site when many configs point at it;
the global limit bounds sockets and memory. A request takes its host slot first, then a global one,
always in that order, and holds one of each at most, so two requests can never wait on each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HostSlots:
    def __init__(self, per_host: int, total: int) -> None:
        self._per_host = per_host
        self._total = asyncio.Semaphore(total)
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}  # host -> (semaphore, users)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._hosts.get(host) or (asyncio.Semaphore(self._per_host), 0)
        self._hosts[host] = (semaphore, users + 1)
        try:
            async with semaphore, self._total:
                yield
        finally:
            semaphore, users = self._hosts[host]
            if users == 1:
                del self._hosts[host]  # forget idle hosts so the table stays as small as the work in flight
            else:
                self._hosts[host] = (semaphore, users - 1)
