"""Waiting for the system to reach a state, with a deadline (tests poll what a user would see)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0, every: float = 0.02) -> None:
    """Returns once `check()` is true; fails the test (TimeoutError) after `within` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 (the state lives in storage, not in an in-process event)
            await asyncio.sleep(every)
