"""One scan of one monitored URL: what was fetched, detected, measured and graded."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from techscaniq.domain.availability import answer_is_page
from techscaniq.domain.common import SCHEMA_VERSION, new_id, utcnow
from techscaniq.domain.fetch import FetchError, FetchResult
from techscaniq.domain.performance import PerformanceReport
from techscaniq.domain.security import SecurityReport
from techscaniq.domain.technology import Detection


class ScanStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"


class ScanTrigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


class ResponseSnapshot(BaseModel):
    """The part of the fetch kept with every scan (the body is kept separately, compressed)."""

    final_url: str | None = None
    status_code: int | None = None
    http_version: str | None = None
    headers: list[tuple[str, str]] = Field(default_factory=list)
    remote_ip: str | None = None
    redirects: list[dict[str, object]] = Field(default_factory=list)

    @classmethod
    def of(cls, fetch: FetchResult) -> ResponseSnapshot:
        return cls(
            final_url=fetch.final_url,
            status_code=fetch.status_code,
            http_version=fetch.http_version,
            headers=fetch.headers,
            remote_ip=fetch.remote_ip,
            redirects=[hop.model_dump() for hop in fetch.redirects],
        )


# The analysis_errors key of a body sent as a page that is binary: nothing was analysed, so the scan says nothing
# about the site's stack, speed or headers and takes no part in those comparisons (a site serving an image at its
# URL for an hour would otherwise lose every technology, then gain them all back).
BINARY_BODY = "page.binary"


class ScanResult(BaseModel):
    id: str = Field(default_factory=new_id)
    config_id: str
    organization_id: str
    url: str
    status: ScanStatus = ScanStatus.SUCCESS
    error: FetchError | None = None
    trigger: ScanTrigger = ScanTrigger.SCHEDULE
    scheduled_for: datetime | None = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    duration_ms: float | None = None
    response: ResponseSnapshot | None = None
    technologies: list[Detection] = Field(default_factory=list)
    performance: PerformanceReport | None = None
    security: SecurityReport | None = None
    fingerprint_version: str | None = None
    analysis_errors: dict[str, str] = Field(default_factory=dict)  # analyzer name -> why it failed
    schema_version: int = SCHEMA_VERSION

    @property
    def succeeded(self) -> bool:
        return self.status is ScanStatus.SUCCESS

    @property
    def shows_the_page(self) -> bool:
        """Answered with the site's real page: not a failure, not an error page (4xx/5xx), not a binary body.
        Only such a scan says anything about the site's stack, speed or headers."""
        status = self.response.status_code if self.response else None
        return answer_is_page(self.succeeded, status) and BINARY_BODY not in self.analysis_errors
