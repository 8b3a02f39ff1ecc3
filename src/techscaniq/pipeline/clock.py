"""Time as the pipeline sees it. Tests pass a controllable clock; production uses the real one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from techscaniq.domain.common import utcnow

Clock = Callable[[], datetime]

system_clock: Clock = utcnow


class ManualClock:
    """A clock that moves only when told to (for schedule tests)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
