"""A meaningful difference between a scan and the site's history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from techscaniq.domain.common import SCHEMA_VERSION, Impact, new_id, utcnow


class ChangeKind(StrEnum):
    TECHNOLOGY = "technology"
    PERFORMANCE = "performance"
    SECURITY = "security"
    AVAILABILITY = "availability"


class Change(BaseModel):
    id: str = Field(default_factory=new_id)
    organization_id: str
    config_id: str
    scan_id: str
    previous_scan_id: str | None = None
    type: ChangeKind
    # added, removed, upgraded, downgraded, version_changed, regressed, improved, recovered, down, up, ...
    change_type: str
    subject: str  # e.g. the technology name, the metric, the header, "site"
    before: Any = None
    after: Any = None
    impact: Impact = Impact.LOW
    evidence: dict[str, Any] = Field(default_factory=dict)
    # A difference explained by a fingerprint database update rather than by the site.
    data_change: bool = False
    false_positive: bool = False
    detected_at: datetime = Field(default_factory=utcnow)
    schema_version: int = SCHEMA_VERSION

    @property
    def dedupe_key(self) -> str:
        """Unique per scan and difference: re-processing a scan never stores the change twice."""
        return f"{self.scan_id}:{self.type}:{self.change_type}:{self.subject}"
