"""Uptime weighted by time, the way people read "99.9 % up": each scan's state (up or down, see
availability.py) holds from its start until the next scan starts, and the newest one until now. A window
counts only the time it has observations for; the time before its first scan is unknown, not up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Observation:
    started_at: datetime
    up: bool


@dataclass(frozen=True)
class Uptime:
    up_seconds: float
    observed_seconds: float

    @property
    def percent(self) -> float | None:
        return round(100 * self.up_seconds / self.observed_seconds, 3) if self.observed_seconds > 0 else None


def uptime_between(observations: Sequence[Observation], start: datetime, end: datetime) -> Uptime:
    """`observations` oldest first. A scan that started before `start` carries its state into the window."""
    up = observed = 0.0
    for index, observation in enumerate(observations):
        until = observations[index + 1].started_at if index + 1 < len(observations) else end
        begin, finish = max(observation.started_at, start), min(until, end)
        if finish <= begin:
            continue
        seconds = (finish - begin).total_seconds()
        observed += seconds
        if observation.up:
            up += seconds
    return Uptime(up, observed)
