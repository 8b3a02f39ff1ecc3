"""One long-lived loop's view of its backend (database, Redis, Kafka) being away.

Every background loop owns an `Outage`. On a failure it calls `failed(exc)`, which logs the first
failure of an outage (not one line per retry), marks the loop in `techscaniq_loop_outage{loop}` and
returns how long to wait: capped exponential backoff with jitter (0.5 s doubling to 30 s), so a
hundred replicas do not hammer a database that is coming back. The first success after that calls
`recovered()`: one line, the gauge back to 0. /health reads `active`, `since` and `error_kind`.

Only the exception's type is kept and logged: driver messages can quote connection URLs or SQL."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from techscaniq.domain.common import utcnow
from techscaniq.observability.metrics import LOOP_OUTAGE

log = logging.getLogger("techscaniq.outage")


def error_kind(exc: BaseException) -> str:
    """`OperationalError (ConnectionRefusedError)`: the type and its cause's type, never the message."""
    kind = type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and type(cause).__name__ != kind:
        kind += f" ({type(cause).__name__})"
    return kind


class Outage:
    def __init__(self, name: str, component: str, *, initial_seconds: float = 0.5, max_seconds: float = 30.0,
                 jitter: Callable[[], float] = random.random, clock: Callable[[], datetime] = utcnow) -> None:
        self.name = name  # the loop, e.g. "scheduler" or "kafka:scan.requested/scan-workers:poll"
        self.component = component  # the /health component it degrades
        self._initial = initial_seconds
        self._max = max_seconds
        self._jitter = jitter
        self._clock = clock
        self.since: datetime | None = None
        self.error_kind: str | None = None
        self.failures = 0
        LOOP_OUTAGE.labels(name).set(0)

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failure; returns the seconds to wait before the next try."""
        self.error_kind = error_kind(exc)
        if self.since is None:
            self.since = self._clock()
            LOOP_OUTAGE.labels(self.name).set(1)
            log.warning("%s: backend unavailable (%s); retrying with backoff until it is back",
                        self.name, self.error_kind)
        self.failures += 1
        delay = min(self._max, self._initial * 2 ** min(self.failures - 1, 30))
        # Jitter in [50%, 100%]: loops that failed together do not all retry in the same instant.
        return float(delay * (0.5 + 0.5 * self._jitter()))

    async def wait(self, exc: BaseException) -> None:
        """`failed(exc)`, then sleep the backoff (a cancellation still ends the loop)."""
        await asyncio.sleep(self.failed(exc))

    def recovered(self) -> None:
        """Record a success; ends the outage (if any) with one log line."""
        if self.since is None:
            return
        seconds = (self._clock() - self.since).total_seconds()
        log.warning("%s: backend available again after %.1f s (%d failed attempts)", self.name, seconds,
                    self.failures)
        self.since, self.error_kind, self.failures = None, None, 0
        LOOP_OUTAGE.labels(self.name).set(0)

    def report(self) -> dict[str, Any]:
        return {"loop": self.name, "since": self.since.isoformat() if self.since else None,
                "error": self.error_kind, "failures": self.failures}


async def periodically(outage: Outage, every_seconds: float, action: Callable[[], Awaitable[object]]) -> None:
    """`action()` every `every_seconds` until cancelled; while it fails, sooner (the backoff, capped at
    `every_seconds`), so a backend that is back is noticed quickly."""
    delay = every_seconds
    while True:
        await asyncio.sleep(delay)
        try:
            await action()
        except Exception as exc:
            delay = min(every_seconds, outage.failed(exc))
            continue
        outage.recovered()
        delay = every_seconds
