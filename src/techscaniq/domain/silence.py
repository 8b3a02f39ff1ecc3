"""A silence or a maintenance window: alerts raised inside one are recorded but nobody is notified.

A silence is a one-off window (`starts_at`..`ends_at`); a maintenance window recurs on weekdays
between two local times in a time zone (optionally bounded by `starts_at`/`ends_at`). Either is
scoped to an organization, or to one config of it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from techscaniq.domain.common import SafeId, TimeZoneName, new_id


class Silence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: SafeId = Field(default_factory=new_id)
    organization_id: str = Field(min_length=1)
    config_id: str | None = None  # None: every config of the organization
    kind: Literal["silence", "maintenance"] = "silence"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Recurring window, in local time of `timezone`; `weekdays` 0 = Monday, empty = every day.
    timezone: TimeZoneName = "UTC"
    weekdays: list[int] = Field(default_factory=list)
    daily_start: time | None = None
    daily_end: time | None = None
    comment: str = ""
    created_by: str | None = None

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day < 0 or day > 6 for day in value):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone offset")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> Silence:
        if (self.daily_start is None) != (self.daily_end is None):
            raise ValueError("daily_start and daily_end go together")
        if self.daily_start is None and self.ends_at is None:
            raise ValueError("a silence needs ends_at, or a daily window (daily_start and daily_end)")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def applies_to(self, organization_id: str, config_id: str) -> bool:
        return self.organization_id == organization_id and self.config_id in (None, config_id)

    def active_at(self, moment: datetime) -> bool:
        if self.starts_at is not None and moment < self.starts_at:
            return False
        if self.ends_at is not None and moment >= self.ends_at:
            return False
        if self.daily_start is None or self.daily_end is None:
            return True
        local = moment.astimezone(ZoneInfo(self.timezone))
        start, end = self.daily_start, self.daily_end
        now = local.time().replace(tzinfo=None)
        if start < end:
            return self._on_day(local) and start <= now < end
        # The window crosses midnight: the part after midnight belongs to the previous day's window.
        if now >= start:
            return self._on_day(local)
        return now < end and self._on_day(local - timedelta(days=1))

    def _on_day(self, local: datetime) -> bool:
        return not self.weekdays or local.weekday() in self.weekdays
