"""Events on the bus between pipeline stages. Ids make every consumer idempotent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from techscaniq.domain.common import SCHEMA_VERSION, new_id, utcnow


class Topic(StrEnum):
    SCAN_REQUESTED = "scan.requested"
    SCAN_COMPLETED = "scan.completed"
    CHANGE_DETECTED = "change.detected"
    ALERT_TRIGGERED = "alert.triggered"
    ALERT_RESOLVED = "alert.resolved"


class Event(BaseModel):
    id: str = Field(default_factory=new_id)
    topic: Topic
    key: str  # partition key: the config id, so one config's events stay in order
    organization_id: str
    occurred_at: datetime = Field(default_factory=utcnow)
    payload: dict[str, Any] = Field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Event:
        return cls.model_validate_json(data)
