"""Alerts raised by rules, and the deliveries that carry them to people."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from techscaniq.domain.common import SCHEMA_VERSION, Severity, new_id, utcnow


class AlertStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(BaseModel):
    id: str = Field(default_factory=new_id)
    organization_id: str
    config_id: str
    rule_id: str
    rule_name: str
    severity: Severity
    status: AlertStatus = AlertStatus.TRIGGERED
    dedupe_key: str  # rule + config + subject
    title: str
    change_ids: list[str] = Field(default_factory=list)
    changes: list[dict[str, Any]] = Field(default_factory=list)  # summaries for the message
    scan_id: str | None = None
    silenced: bool = False  # recorded but not notified (silence or maintenance window)
    throttled: bool = False  # recorded but not notified (throttle window)
    suppressed_count: int = 0  # repeats suppressed since the previous notification
    occurrences: int = 1  # later scans repeating this open alert are folded into it, not re-notified
    last_occurred_at: datetime | None = None
    triggered_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    schema_version: int = SCHEMA_VERSION


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # will be retried
    DEAD = "dead"  # gave up; `last_error` says why


class Delivery(BaseModel):
    """One notification of one alert through one channel: stored (outbox) before it is sent."""

    id: str = Field(default_factory=new_id)
    alert_id: str
    organization_id: str
    config_id: str
    rule_id: str
    channel_index: int  # position in the rule's notification_channels
    channel_type: str
    kind: str = "triggered"  # triggered | resolved
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    # When the current run of retries began: created_at, or when someone retried a dead letter by hand.
    retrying_since: datetime | None = None
    log: list[dict[str, Any]] = Field(default_factory=list)  # one entry per attempt (and per manual retry)
