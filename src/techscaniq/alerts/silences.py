"""Silences and maintenance windows: alerts raised inside one are recorded but nobody is notified.

A silence is a one-off window (`starts_at`..`ends_at`); a maintenance window recurs on weekdays
between two local times in a time zone (optionally bounded by `starts_at`/`ends_at`). Either is
scoped to an organization, or to one config of it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from techscaniq.domain.common import new_id


class Silence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    organization_id: str = Field(min_length=1)
    config_id: str | None = None  # None: every config of the organization
    kind: Literal["silence", "maintenance"] = "silence"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Recurring window, in local time of `timezone`; `weekdays` 0 = Monday, empty = every day.
    timezone: str = "UTC"
    weekdays: list[int] = Field(default_factory=list)
    daily_start: time | None = None
    daily_end: time | None = None
    comment: str = ""
    created_by: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

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


class SilenceStore(Protocol):
    async def add(self, silence: Silence) -> None: ...

    async def remove(self, silence_id: str, organization_id: str | None = None) -> bool: ...

    async def list(self, organization_id: str | None = None) -> list[Silence]: ...

    async def active(self, organization_id: str, config_id: str, at: datetime) -> Silence | None:
        """The first silence or maintenance window covering this config at this moment."""
        ...


class InMemorySilenceStore:
    """Process-local silences (embedded mode). Silences are short-lived operator actions; a durable
    store only needs these four methods."""

    def __init__(self, silences: list[Silence] | None = None) -> None:
        self._silences: dict[str, Silence] = {s.id: s for s in silences or []}

    async def add(self, silence: Silence) -> None:
        self._silences[silence.id] = silence

    async def remove(self, silence_id: str, organization_id: str | None = None) -> bool:
        silence = self._silences.get(silence_id)
        if silence is None or (organization_id is not None and silence.organization_id != organization_id):
            return False
        del self._silences[silence_id]
        return True

    async def list(self, organization_id: str | None = None) -> list[Silence]:
        return [s for s in self._silences.values() if organization_id in (None, s.organization_id)]

    async def active(self, organization_id: str, config_id: str, at: datetime) -> Silence | None:
        for silence in self._silences.values():
            if silence.applies_to(organization_id, config_id) and silence.active_at(at):
                return silence
        return None


class JsonFileSilenceStore(InMemorySilenceStore):
    """Silences kept in one JSON file (embedded mode: they survive a restart). Written atomically."""

    def __init__(self, path: Path) -> None:
        self._path = path
        loaded = json.loads(path.read_text("utf-8")) if path.exists() else []
        super().__init__([Silence.model_validate(item) for item in loaded])

    async def add(self, silence: Silence) -> None:
        await super().add(silence)
        self._save()

    async def remove(self, silence_id: str, organization_id: str | None = None) -> bool:
        removed = await super().remove(silence_id, organization_id)
        if removed:
            self._save()
        return removed

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps([s.model_dump(mode="json") for s in self._silences.values()]), "utf-8")
        os.replace(temporary, self._path)
