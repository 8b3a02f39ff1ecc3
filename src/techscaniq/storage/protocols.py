"""Repository protocols. Every stage depends on these, never on a database.

Idempotency lives here: writes keyed by a natural id (scan id, change dedupe key, delivery id)
are no-ops when repeated, so a re-delivered event never stores anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from techscaniq.domain.alert import Alert, AlertStatus, Delivery
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult, ScanStatus


@dataclass(frozen=True)
class ScheduledRun:
    config_id: str
    due_at: datetime


@dataclass(frozen=True)
class ScanRequest:
    """A scan-now request: `id` is the scan id the API answered with."""

    id: str
    config_id: str
    organization_id: str


class ConfigRepository(Protocol):
    async def add(self, config: MonitoringConfig, next_run_at: datetime | None) -> None: ...

    async def get(self, config_id: str, organization_id: str | None = None) -> MonitoringConfig | None: ...

    async def page(self, after: str | None = None, limit: int = 1000) -> list[MonitoringConfig]:
        """In id order after the id `after` (keyset, for walks over the whole table such as a search rebuild)."""
        ...

    async def find(
        self, organization_id: str | None = None, limit: int = 1000, offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> list[MonitoringConfig]:
        """In (created_at, id) order; `after`: the (created_at, id) of the previous page's last config."""
        ...

    async def update(self, config: MonitoringConfig, next_run_at: datetime | None) -> bool: ...

    async def delete(self, config_id: str, organization_id: str | None = None) -> bool: ...

    async def count(self, organization_id: str | None = None, active_only: bool = False) -> int: ...

    async def next_run_at(self, config_id: str) -> datetime | None: ...

    async def next_runs(self, config_ids: list[str]) -> dict[str, datetime | None]: ...

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float, owner: str) -> list[ScheduledRun]:
        """Due, unpaused configs whose run is not leased by a live owner; leases them to `owner`.
        Replicas calling this concurrently never get the same run."""
        ...

    async def complete_run(self, config_id: str, due_at: datetime, next_run_at: datetime | None) -> None:
        """Record that the run due at `due_at` was handed off and set the next one (clears the lease)."""
        ...

    async def earliest_next_run(self, now: datetime) -> datetime | None:
        """The soonest next run that is not leased (so the scheduler can sleep until then)."""
        ...

    async def release_leases(self, owner: str | None = None) -> int:
        """Forget leases (all, or one owner's): a single process restarting owns none any more."""
        ...


class ScanRepository(Protocol):
    async def add(self, scan: ScanResult, body: bytes | None = None) -> bool:
        """False when a scan with this id is already stored."""
        ...

    async def get(self, scan_id: str, organization_id: str | None = None) -> ScanResult | None: ...

    async def body(self, scan_id: str) -> bytes | None:
        """The stored response body (for re-analysis with a newer fingerprint database)."""
        ...

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[ScanResult]:
        """In id order after the id `after` (keyset, for walks over the whole table such as a search rebuild);
        `since`: started at or after it."""
        ...

    async def find(
        self,
        config_id: str | None = None,
        organization_id: str | None = None,
        status: ScanStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ScanResult]:
        """Newest first."""
        ...

    async def latest(self, config_ids: list[str]) -> dict[str, ScanResult]:
        """The newest scan of each of these configs (configs never scanned are absent)."""
        ...

    async def previous(self, config_id: str, before: datetime, limit: int = 20) -> list[ScanResult]:
        """The scans of a config that started before `before`, newest first (the history)."""
        ...

    async def count(self, config_id: str | None = None, status: ScanStatus | None = None) -> int: ...

    async def mark_done(self, scan_id: str, *stages: Literal["changes", "alerts"]) -> None:
        """Record that change detection (or alert evaluation) finished for this scan."""
        ...

    async def pending(self, stage: Literal["changes", "alerts"], limit: int = 1000) -> list[ScanResult]:
        """Scans whose stage has not run yet (a restart finishes what a crash interrupted), oldest first."""
        ...


@dataclass(frozen=True)
class MetricPoint:
    organization_id: str
    config_id: str
    scan_id: str
    metric: str
    value: float
    time: datetime


def metric_points(scan: ScanResult) -> list[MetricPoint]:
    """The points of a scan's performance metrics, timed when it finished."""
    if scan.performance is None:
        return []
    time = scan.finished_at or scan.started_at
    return [MetricPoint(scan.organization_id, scan.config_id, scan.id, name, float(value), time)
            for name, value in scan.performance.metrics.items()]


class MetricRepository(Protocol):
    async def add(self, points: list[MetricPoint]) -> None: ...

    async def record(self, scan: ScanResult) -> None:
        """Keep the metrics of a scan just stored (the core database finds them packed in the scan's row)."""
        ...

    async def series(
        self, config_id: str, metric: str, since: datetime | None = None, until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[MetricPoint]:
        """Oldest first."""
        ...


class ChangeRepository(Protocol):
    async def add_many(self, changes: list[Change]) -> list[Change]:
        """Stores the changes not already stored (by dedupe key); returns those newly stored."""
        ...

    async def get(self, change_id: str, organization_id: str | None = None) -> Change | None: ...

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[Change]:
        """In id order after the id `after` (keyset, for walks over the whole table such as a search rebuild);
        `since`: detected at or after it."""
        ...

    async def find(
        self,
        organization_id: str | None = None,
        config_id: str | None = None,
        kind: ChangeKind | None = None,
        min_impact: Impact | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        scan_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Change]:
        """Newest first."""
        ...

    async def mark_false_positive(self, change_id: str, organization_id: str | None, value: bool = True) -> bool: ...

    async def count(self, organization_id: str | None = None, false_positive: bool | None = None) -> int: ...


class AlertRepository(Protocol):
    async def add(self, alert: Alert) -> bool:
        """False if an alert with this id exists."""
        ...

    async def get(self, alert_id: str, organization_id: str | None = None) -> Alert | None: ...

    async def update(self, alert: Alert) -> None: ...

    async def find_open(self, dedupe_key: str) -> Alert | None:
        """The newest alert with this key that is not resolved."""
        ...

    async def last_notified(self, dedupe_key: str) -> Alert | None:
        """The newest alert with this key that was notified (not throttled or silenced)."""
        ...

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[Alert]:
        """In id order after the id `after` (keyset, for walks over the whole table such as a search rebuild);
        `since`: triggered at or after it."""
        ...

    async def find(
        self,
        organization_id: str | None = None,
        config_id: str | None = None,
        status: AlertStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Alert]:
        """Newest first."""
        ...


class DeliveryRepository(Protocol):
    async def add_many(self, deliveries: list[Delivery]) -> None:
        """Outbox: stored before anything is sent. Ids already stored are ignored."""
        ...

    async def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        """Pending or failed deliveries whose next attempt is due, oldest first."""
        ...

    async def claim(self, delivery_id: str, lease_until: datetime, now: datetime | None = None) -> bool:
        """Take a delivery for sending (so two workers never send it twice)."""
        ...

    async def update(self, delivery: Delivery) -> None: ...

    async def get(self, delivery_id: str, organization_id: str | None = None) -> Delivery | None: ...

    async def release_leases(self) -> int:
        """Forget every claim (one embedded process restarting owns them all)."""
        ...

    async def list_for_alert(self, alert_id: str) -> list[Delivery]: ...

    async def find(
        self, organization_id: str | None = None, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Delivery]: ...


class ProcessedEventRepository(Protocol):
    async def seen(self, consumer: str, event_id: str) -> bool: ...

    async def mark(self, consumer: str, event_id: str) -> None: ...


class RevokedTokenRepository(Protocol):
    async def add(self, jti: str, organization_id: str, revoked_at: datetime, expires_at: datetime,
                  reason: str = "") -> None:
        """Record a revoked token id; repeating it is a no-op."""
        ...

    async def active(self, now: datetime) -> set[tuple[str, str]]:
        """(organization, jti) of every revocation whose token has not expired by `now`."""
        ...

    async def prune(self, now: datetime) -> int:
        """Delete revocations of tokens expired by `now` (they are refused as expired anyway)."""
        ...


class ScanRequestRepository(Protocol):
    async def add(self, request: ScanRequest, requested_at: datetime) -> None: ...

    async def claim(self, now: datetime, limit: int, lease_seconds: float, owner: str) -> list[ScanRequest]:
        """Lease up to `limit` requests nobody holds (or whose lease expired), oldest first."""
        ...

    async def done(self, request_id: str) -> None:
        """The request's scan is stored (or its config is gone): forget it."""
        ...

    async def release_leases(self, owner: str | None = None) -> int: ...

    async def pending(self) -> int: ...


class Storage(Protocol):
    @property
    def configs(self) -> ConfigRepository: ...

    @property
    def scans(self) -> ScanRepository: ...

    @property
    def metrics(self) -> MetricRepository: ...

    @property
    def changes(self) -> ChangeRepository: ...

    @property
    def alerts(self) -> AlertRepository: ...

    @property
    def deliveries(self) -> DeliveryRepository: ...

    @property
    def processed(self) -> ProcessedEventRepository: ...

    @property
    def scan_requests(self) -> ScanRequestRepository: ...

    async def start(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def write_failure(self) -> str | None: ...

    async def ping_metrics_database(self) -> bool | None: ...
